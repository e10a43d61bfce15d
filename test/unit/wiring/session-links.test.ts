// Wiring of issue 12's session links: a control connection that reopens ('up') tells every session that its
// cluster is back (they retry at once instead of after their backoff), and the gauge counts sessions whose
// connection to a cluster is down or being reopened.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ClusterName } from '../../../src/cluster';
import type { ClientSession } from '../../../src/frontend/client-session';
import { type ControlPair, reopenSessionsWhenClusterReturns, sessionsWithClusterDown } from '../../../src/wiring/clusters';

function fakeSession(links: Partial<Record<ClusterName, string>>) {
  const returned: ClusterName[] = [];
  const s = {
    returned,
    linkState: (c: ClusterName) => links[c] ?? 'up',
    clusterReturned: (c: ClusterName) => returned.push(c),
  };
  return s as typeof s & ClientSession;
}

test("session links: a control connection's 'up' reaches every session, for that cluster only", () => {
  const control = { origin: new EventEmitter(), target: new EventEmitter() } as unknown as ControlPair;
  const a = fakeSession({ TARGET: 'down' });
  const b = fakeSession({});
  const sessions = new Set<ClientSession>([a, b]);
  reopenSessionsWhenClusterReturns(control, sessions);
  (control.target as unknown as EventEmitter).emit('up', { host: '127.0.0.2', port: 9042 });
  assert.deepEqual(a.returned, ['TARGET']);
  assert.deepEqual(b.returned, ['TARGET'], 'a session that is up ignores it itself (retryNow is a no-op then)');
  (control.origin as unknown as EventEmitter).emit('up', { host: '127.0.0.1', port: 9042 });
  assert.deepEqual(a.returned, ['TARGET', 'ORIGIN']);
  // a session that closed (left the set) hears nothing more
  sessions.delete(b);
  (control.target as unknown as EventEmitter).emit('up', { host: '127.0.0.2', port: 9042 });
  assert.deepEqual(b.returned, ['TARGET', 'ORIGIN']);
  assert.deepEqual(a.returned, ['TARGET', 'ORIGIN', 'TARGET']);
});

test('session links: sessions with a cluster down counts down and reopening, per cluster', () => {
  const sessions = new Set<ClientSession>([
    fakeSession({ TARGET: 'down' }),
    fakeSession({ TARGET: 'reopening' }),
    fakeSession({ ORIGIN: 'down' }),
    fakeSession({ TARGET: 'stopped' }),
    fakeSession({}),
  ]);
  assert.equal(sessionsWithClusterDown(sessions, 'TARGET'), 2);
  assert.equal(sessionsWithClusterDown(sessions, 'ORIGIN'), 1);
  assert.equal(sessionsWithClusterDown(new Set(), 'ORIGIN'), 0);
});
