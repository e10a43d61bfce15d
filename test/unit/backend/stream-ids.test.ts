import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StreamIdPool } from '../../../src/backend/stream-ids';

test('takes ids 0..size-1 then reports exhaustion', () => {
  const p = new StreamIdPool(4);
  assert.deepEqual([p.take(), p.take(), p.take(), p.take()], [0, 1, 2, 3]);
  assert.equal(p.take(), -1);
  assert.equal(p.used, 4);
  assert.equal(p.available, 0);
});

test('released ids are reused and double release is harmless', () => {
  const p = new StreamIdPool(3);
  const a = p.take();
  const b = p.take();
  assert.equal(p.release(a), true);
  assert.equal(p.release(a), false);
  assert.equal(p.release(99), false);
  assert.equal(p.release(-1), false);
  assert.equal(p.used, 1);
  assert.equal(p.take(), a);
  assert.equal(p.isInUse(b), true);
  assert.equal(p.take(), 2);
  assert.equal(p.take(), -1);
});

test('many take/release cycles never hand out an id twice', () => {
  const size = 2048;
  const p = new StreamIdPool(size);
  const held = new Set<number>();
  let seed = 7;
  for (let i = 0; i < 131072; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    if (seed % 2 === 0 && held.size < size) {
      const id = p.take();
      assert.ok(id >= 0 && id < size);
      assert.ok(!held.has(id), `id ${id} handed out twice`);
      held.add(id);
    } else if (held.size > 0) {
      const id = held.values().next().value as number;
      held.delete(id);
      p.release(id);
    }
    if (i % 4096 === 0) assert.equal(p.used, held.size);
  }
  assert.equal(p.used, held.size);
});

test('rejects invalid sizes', () => {
  assert.throws(() => new StreamIdPool(0), RangeError);
  assert.throws(() => new StreamIdPool(40000), RangeError);
});
