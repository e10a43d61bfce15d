import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CLUSTER_NAMES,
  clusterLabel,
  clusterOfLabel,
  clusterTitle,
  forCluster,
  otherCluster,
  PerCluster,
  pickCluster,
} from '../../src/cluster';

test('the accessors pick the value of the named cluster (pair, two values, PerCluster)', () => {
  const pair = { origin: 'o', target: 't' };
  assert.equal(forCluster('ORIGIN', pair), 'o');
  assert.equal(forCluster('TARGET', pair), 't');
  assert.equal(forCluster('TARGET', { origin: 1 }), undefined);
  assert.equal(pickCluster('ORIGIN', 'o', 't'), 'o');
  assert.equal(pickCluster('TARGET', 'o', 't'), 't');
  const per = PerCluster.of((c) => c.toLowerCase());
  assert.equal(per.get('ORIGIN'), 'origin');
  assert.equal(per.get('TARGET'), 'target');
  assert.deepEqual(per.map((v, c) => `${c}:${v}`).entries(), [
    ['ORIGIN', 'ORIGIN:origin'],
    ['TARGET', 'TARGET:target'],
  ]);
});

test('names, labels and titles map one to one', () => {
  assert.deepEqual(CLUSTER_NAMES, ['ORIGIN', 'TARGET']);
  for (const c of CLUSTER_NAMES) {
    assert.notEqual(otherCluster(c), c);
    assert.equal(otherCluster(otherCluster(c)), c);
    assert.equal(clusterOfLabel(clusterLabel(c)), c);
  }
  assert.equal(clusterLabel('TARGET'), 'target');
  assert.equal(clusterTitle('ORIGIN'), 'Origin');
  assert.equal(clusterTitle('target'), 'Target');
});
