// Issue 12, "paths to fix": a request sent to both clusters must not end up applied on one side behind the
// client's back. Fake servers script what real clusters cannot do on cue (a full stream id pool on one side,
// UNPREPARED from one side only, USE failing on one side).
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, Opcode } from '../../../src/protocol/constants';
import { TestClient, errorOf, startHarness, type Harness } from './harness';
import { waitFor } from '../../support/wait';

let h: Harness;
before(async () => {
  h = await startHarness({ ZDM_PROXY_MAX_STREAM_IDS: '2', ZDM_PROXY_REQUEST_TIMEOUT_MS: '5000' });
});
after(async () => h?.close());

test('TARGET out of stream ids: the write gets OVERLOADED and ORIGIN never receives it', async () => {
  const c = await TestClient.ready(h.proxy.port);
  try {
    // TARGET holds on to every write: its two stream ids stay taken
    h.target.onRequest((_f, d) => (d?.opcode === Opcode.QUERY && d.query.startsWith('UPDATE') ? 'drop' : undefined));
    const q = (n: number): string => `UPDATE ks.c SET n = n + 1 WHERE k = ${n}`;
    const pending = [c.query(q(1), undefined, 6000), c.query(q(2), undefined, 6000)];
    const sent = (s: Harness['origin']): string[] => s.requests(Opcode.QUERY).map((r) => r.query ?? '').filter((x) => x.startsWith('UPDATE'));
    await waitFor('both writes on both clusters', () => sent(h.target).length === 2 && sent(h.origin).length === 2, { intervalMs: 5 });
    const e = errorOf(await c.query(q(3)));
    assert.equal(e.code, ErrorCode.OVERLOADED);
    // a read sent after it on the same ORIGIN connection: once ORIGIN has it, the refused write would be there too
    assert.equal((await c.query('SELECT n FROM ks.c WHERE k = 0')).opcode, Opcode.RESULT);
    assert.deepEqual(sent(h.origin), [q(1), q(2)], 'ORIGIN did not get the refused write');
    assert.deepEqual(sent(h.target), [q(1), q(2)]);
    void Promise.allSettled(pending);
  } finally {
    h.target.clearHandlers();
    c.close();
  }
});
