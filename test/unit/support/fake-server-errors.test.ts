// The scriptable fake server's errors on cue (test/support/fake-server.ts): write timeout with its fields,
// overloaded, server error, a reply that never comes, UNPREPARED after forgetPrepared (EXECUTE and BATCH).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { errorReply, FakeServer, whenQuery } from '../../support/fake-server';
import { BatchType, Consistency, ErrorCode, Opcode, RawCqlClient, RawTimeoutError, errorOf } from '../../support/raw-client';

describe('fake server: errors on cue', () => {
  let server: FakeServer;
  let c: RawCqlClient;
  before(async () => {
    server = await FakeServer.start();
    c = await RawCqlClient.connect({ host: server.host, port: server.port, credentials: null });
  });
  after(async () => {
    c.close();
    await server.stop();
  });

  it('write timeout with its fields, overloaded once, server error', async () => {
    server.onRequest(
      whenQuery(
        /^INSERT/,
        errorReply.writeTimeout({ consistency: Consistency.QUORUM, received: 1, blockFor: 2, writeType: 'COUNTER' }),
      ),
    );
    const f = await c.query('INSERT INTO ks.t (k) VALUES (1)');
    const m = f.message as unknown as {
      code: number;
      consistency: number;
      received: number;
      blockFor: number;
      writeType: string;
    };
    assert.deepEqual(
      [m.code, m.consistency, m.received, m.blockFor, m.writeType],
      [ErrorCode.WRITE_TIMEOUT, Consistency.QUORUM, 1, 2, 'COUNTER'],
    );
    server.failNext((_f, d) => d?.opcode === Opcode.QUERY, errorReply.overloaded());
    assert.equal(errorOf(await c.query('SELECT 1 FROM ks.t'))?.code, ErrorCode.OVERLOADED);
    assert.equal(errorOf(await c.query('SELECT 1 FROM ks.t')), undefined, 'only the next one');
    server.failNext(() => true, errorReply.serverError('boom'));
    assert.deepEqual(errorOf(await c.options()), { code: ErrorCode.SERVER_ERROR, message: 'boom' });
    server.clearHandlers();
  });

  it('a reply that never comes', async () => {
    server.neverReply((_f, d) => d?.opcode === Opcode.QUERY && d.query.includes('never'));
    await assert.rejects(c.query('SELECT never FROM ks.t', undefined, { timeoutMs: 200 }), RawTimeoutError);
    assert.ok(server.queries().includes('SELECT never FROM ks.t'), 'it was received');
    assert.equal(errorOf(await c.options()), undefined, 'the connection still answers');
    server.clearHandlers();
  });

  it('forgetPrepared: EXECUTE and BATCH get UNPREPARED with the id until prepared again', async () => {
    const id = await c.prepare('INSERT INTO ks.t (k) VALUES (?)');
    assert.equal(errorOf(await c.execute(id)), undefined);
    server.forgetPrepared();
    const e = errorOf(await c.execute(id));
    assert.equal(e?.code, ErrorCode.UNPREPARED);
    assert.deepEqual(e?.id, id);
    assert.equal(errorOf(await c.batch(BatchType.LOGGED, [{ kind: 'prepared', id, values: [] }]))?.code, ErrorCode.UNPREPARED);
    await c.prepare('INSERT INTO ks.t (k) VALUES (?)');
    assert.equal(errorOf(await c.execute(id)), undefined, 'known again after PREPARE');
  });
});
