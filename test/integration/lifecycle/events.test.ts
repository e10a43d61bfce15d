// Events to a registered client (upstream-spec-notes 5.6, upstream events_test TestSchemaEvents): a raw client
// REGISTERs SCHEMA_CHANGE (and STATUS/TOPOLOGY) through the proxy. DDL run directly on Origin yields
// exactly one SCHEMA_CHANGE event; DDL run directly on Target yields none; DDL through the proxy (run
// on both clusters) yields exactly one. Only events about this test's keyspace are counted, since
// other tests may change schemas on the shared clusters at the same time.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';

import { dropKeyspace, ensureClusters, uniqueKeyspaceName } from '../../support/clusters';
import { startTestProxy, type TestProxy } from '../../support/proxy';
import { errorOf, RawCqlClient, type Opcode } from '../../support/raw-client';
import type { Frame } from '../../../src/protocol';
import { waitFor } from '../../support/wait';
import { directSessions, type Direct } from './helpers';

interface SchemaEvent {
  change: string;
  target: string;
  keyspace: string;
  name?: string;
}

function schemaEvent(f: Frame): SchemaEvent | undefined {
  const m = f.message as { opcode: Opcode; type?: string; schemaChange?: Record<string, unknown> };
  if (m.type !== 'SCHEMA_CHANGE' || !m.schemaChange) return undefined;
  const sc = m.schemaChange;
  return {
    change: String(sc['change'] ?? sc['changeType']),
    target: String(sc['target']),
    keyspace: String(sc['keyspace']),
    ...(sc['name'] !== undefined ? { name: String(sc['name']) } : sc['table'] !== undefined ? { name: String(sc['table']) } : {}),
  };
}

describe('lifecycle: events through the proxy', () => {
  const ks = uniqueKeyspaceName('lc_events');
  let d: Direct | undefined;
  let proxy: TestProxy | undefined;
  let listener: RawCqlClient | undefined;
  let writer: RawCqlClient | undefined;

  before(async () => {
    await ensureClusters();
    d = await directSessions(ks);
    proxy = await startTestProxy();
    listener = await RawCqlClient.connect({ host: proxy.host, port: proxy.port });
    await listener.register(['SCHEMA_CHANGE', 'STATUS_CHANGE', 'TOPOLOGY_CHANGE']);
    writer = await RawCqlClient.connect({ host: proxy.host, port: proxy.port });
  });
  after(async () => {
    listener?.close();
    writer?.close();
    await proxy?.stop().catch(() => undefined);
    await d?.shutdown();
    await dropKeyspace(ks).catch(() => undefined);
  });

  /** Schema events about `table` of this keyspace received so far. */
  const eventsFor = (table: string): SchemaEvent[] =>
    listener!.events.map(schemaEvent).filter((e): e is SchemaEvent => !!e && e.keyspace === ks && e.name === table);

  /**
   * A point after which no more events can come for schema changes already applied: an OPTIONS on the listener's own
   * connection goes to both clusters, and each node pushes a schema event to the registered connection as it applies
   * the change, before any later reply on that connection; the proxy passes on (or drops) what one cluster
   * connection delivers in order, and the client's reply comes after both clusters answered.
   */
  const fence = async (): Promise<void> => {
    const r = await listener!.options();
    assert.equal(errorOf(r), undefined, `OPTIONS on the listener: ${JSON.stringify(errorOf(r))}`);
  };

  it('DDL directly on Origin: exactly one SCHEMA_CHANGE event', async () => {
    await d!.origin.execute(`CREATE TABLE ${ks}.on_origin (k int PRIMARY KEY)`);
    await waitFor('a schema event for on_origin', () => eventsFor('on_origin').length > 0, { timeoutMs: 5_000 });
    await fence();
    const evs = eventsFor('on_origin');
    assert.equal(evs.length, 1, `events: ${JSON.stringify(evs)}`);
    assert.equal(evs[0]!.change, 'CREATED');
    assert.equal(evs[0]!.target, 'TABLE');
  });

  it('DDL directly on Target: no event', async () => {
    await d!.target.execute(`CREATE TABLE ${ks}.on_target (k int PRIMARY KEY)`);
    // Positive control through the same fence: a change applied on Origin after it is seen by then.
    await d!.origin.execute(`CREATE TABLE ${ks}.on_origin_control (k int PRIMARY KEY)`);
    await fence();
    assert.equal(eventsFor('on_origin_control').length, 1, 'the control: an Origin schema change applied before the fence');
    assert.deepEqual(eventsFor('on_target'), []);
  });

  it("DDL through the proxy: exactly one event (Origin's; Target's is dropped)", async () => {
    const r = await writer!.query(`CREATE TABLE ${ks}.via_proxy (k int PRIMARY KEY, v text)`, undefined, { timeoutMs: 30_000 });
    assert.equal(errorOf(r), undefined, `CREATE TABLE through the proxy: ${JSON.stringify(errorOf(r))}`);
    await waitFor('a schema event for via_proxy', () => eventsFor('via_proxy').length > 0, { timeoutMs: 5_000 });
    await fence();
    const evs = eventsFor('via_proxy');
    assert.equal(evs.length, 1, `events: ${JSON.stringify(evs)}`);
    assert.equal(evs[0]!.change, 'CREATED');
    // ALTER through the proxy: one UPDATED event.
    const a = await writer!.query(`ALTER TABLE ${ks}.via_proxy ADD extra int`, undefined, { timeoutMs: 30_000 });
    assert.equal(errorOf(a), undefined);
    await waitFor('a second schema event for via_proxy', () => eventsFor('via_proxy').length > 1, { timeoutMs: 5_000 });
    await fence();
    assert.deepEqual(
      eventsFor('via_proxy').map((e) => e.change),
      ['CREATED', 'UPDATED'],
    );
  });

  it('no STATUS_CHANGE or TOPOLOGY_CHANGE event reaches the client', () => {
    const other = listener!.events.filter((f) => {
      const t = (f.message as { type?: string }).type;
      return t === 'STATUS_CHANGE' || t === 'TOPOLOGY_CHANGE';
    });
    assert.deepEqual(
      other.map((f) => (f.message as { type?: string }).type),
      [],
    );
  });

  it('the registered connection still serves requests', async () => {
    const r = await listener!.query(`SELECT table_name FROM system_schema.tables WHERE keyspace_name = '${ks}'`);
    assert.equal(errorOf(r), undefined);
  });
});
