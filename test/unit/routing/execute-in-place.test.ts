// The usual EXECUTE is routed from the frame's own bytes (peekExecuteInPlace, PreparedCache.getAt); the full path
// opens the body. Both must route alike: same cluster, tracking, async, prepared entry, pinned timestamp and the
// same bytes for ORIGIN and TARGET, for every version, with or without the client's timestamp, other TARGET ids,
// other v5 result metadata ids, any values. The full path is forced by a cache whose in-place lookup misses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { Consistency, Opcode, ProtocolVersion } from '../../../src/protocol/constants';
import { RawFrame } from '../../../src/protocol/frame';
import { encodeMessage } from '../../../src/protocol/messages';
import { type ExecutePeek, peekExecuteInPlace } from '../../../src/protocol/request-codec';
import { inspect } from '../../../src/cql/inspector';
import { forwardDecision } from '../../../src/cql/routing';
import { RoutingSettings } from '../../../src/routing/settings';
import { PreparedCache, type PreparedEntry } from '../../../src/routing/prepared-cache';
import { routeRequest, type Route, type RouteContext } from '../../../src/routing/request-router';

/** Never finds an id in place: routeRequest takes the full path (the body opened, `get` by a view of the id). */
class FullPathCache extends PreparedCache {
  override getAt(): PreparedEntry | undefined {
    return undefined;
  }
}

const VERSIONS = [ProtocolVersion.V3, ProtocolVersion.V4, ProtocolVersion.V5] as const;
const STATEMENTS = [
  'INSERT INTO ks.t (k, v) VALUES (?, ?)',
  'SELECT v FROM ks.t WHERE k = ?',
  'UPDATE ks.t SET v = ? WHERE k = ? IF EXISTS',
];

function execute(version: ProtocolVersion, e: PreparedEntry, values: Buffer[], ts: bigint | undefined, stream: number): RawFrame {
  const body = encodeMessage(
    {
      opcode: Opcode.EXECUTE,
      id: e.originId,
      ...(version === ProtocolVersion.V5 ? { resultMetadataId: e.originResultMetadataId } : {}),
      params: { consistency: Consistency.LOCAL_QUORUM, values, ...(ts !== undefined ? { defaultTimestamp: ts } : {}) },
    },
    version,
  );
  return RawFrame.fromParts({ version, isResponse: false, flags: 0, streamId: stream, opcode: Opcode.EXECUTE }, body);
}

function summary(r: Route) {
  if (r.type !== 'forward') return r;
  return {
    to: r.to,
    tracking: r.tracking,
    async: r.async,
    writeTimestamp: r.writeTimestamp,
    prepared: r.prepared?.map((p) => p.query),
    origin: r.originFrame?.bytes.toString('hex'),
    target: r.targetFrame?.bytes.toString('hex'),
  };
}

test('EXECUTE routed in place equals the full path (every version, timestamps, ids, values, settings)', () => {
  const bytes = (n: number) => fc.uint8Array({ minLength: n, maxLength: n }).map((a) => Buffer.from(a));
  fc.assert(
    fc.property(
      fc.constantFrom(...VERSIONS),
      fc.constantFrom(...STATEMENTS),
      bytes(16),
      fc.option(bytes(16), { nil: undefined }), // another TARGET id
      bytes(16),
      fc.option(bytes(16), { nil: undefined }), // another TARGET result metadata id
      fc.array(
        fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
        { maxLength: 4 },
      ),
      fc.option(fc.bigInt({ min: 1n, max: 2n ** 60n }), { nil: undefined }),
      fc.record({ pin: fc.boolean(), primary: fc.constantFrom('ORIGIN', 'TARGET'), dual: fc.boolean() }),
      (version, cql, originId, otherTargetId, rmId, otherRmId, values, ts, s) => {
        const info = inspect(cql);
        const entry: PreparedEntry = {
          originId,
          targetId: otherTargetId ?? originId,
          originResultMetadataId: rmId,
          targetResultMetadataId: otherRmId ?? rmId,
          query: cql,
          keyspace: 'ks',
          info,
          decision: forwardDecision(info, 'ks'),
        };
        const settings = new RoutingSettings({
          primaryCluster: s.primary as 'ORIGIN' | 'TARGET',
          readMode: s.dual ? 'DUAL_ASYNC_ON_SECONDARY' : 'PRIMARY_ONLY',
        });
        const routeWith = (cache: PreparedCache): Route => {
          cache.store(entry);
          let t = 5000n;
          const ctx: RouteContext = { keyspace: 'ks', cache, settings, pinTimestamps: s.pin, writeClock: { next: () => ++t } };
          return routeRequest(execute(version, entry, values, ts, 9), ctx);
        };
        assert.deepEqual(summary(routeWith(new PreparedCache())), summary(routeWith(new FullPathCache())));
      },
    ),
    { numRuns: 400 },
  );
});

test('peekExecuteInPlace: the id range and the timestamp flag from the bytes; false when the body must be opened', () => {
  const id = Buffer.alloc(16, 7);
  const rm = Buffer.alloc(16, 9);
  for (const version of VERSIONS) {
    for (const ts of [undefined, 123n]) {
      const f = RawFrame.fromParts(
        { version, isResponse: false, flags: 0, streamId: 1, opcode: Opcode.EXECUTE },
        encodeMessage(
          {
            opcode: Opcode.EXECUTE,
            id,
            ...(version === ProtocolVersion.V5 ? { resultMetadataId: rm } : {}),
            params: { consistency: Consistency.ONE, ...(ts ? { defaultTimestamp: ts } : {}) },
          },
          version,
        ),
      );
      const out: ExecutePeek = { idStart: 0, idEnd: 0, hasTimestamp: false };
      assert.equal(peekExecuteInPlace(f, out), true);
      assert.deepEqual(f.bytes.subarray(out.idStart, out.idEnd), id, `v${version}: the id's range`);
      assert.equal(out.hasTimestamp, ts !== undefined, `v${version}: the timestamp flag`);
      // cut short before the flags: the full path decides (and names what is missing)
      const cut = new RawFrame(null, f.bytes.subarray(0, out.idEnd + 1));
      assert.equal(peekExecuteInPlace(cut, out), false, `v${version}: cut short`);
    }
  }
  const compressed = RawFrame.fromParts(
    { version: 4, isResponse: false, flags: 0x01, streamId: 1, opcode: Opcode.EXECUTE },
    Buffer.alloc(30),
  );
  const payload = RawFrame.fromParts(
    { version: 4, isResponse: false, flags: 0x04, streamId: 1, opcode: Opcode.EXECUTE },
    Buffer.alloc(30),
  );
  const out: ExecutePeek = { idStart: 0, idEnd: 0, hasTimestamp: false };
  assert.equal(peekExecuteInPlace(compressed, out), false, 'compressed');
  assert.equal(peekExecuteInPlace(payload, out), false, 'custom payload before the message');
});

test('prepared cache: the in-place lookup finds what get finds, and forgets deleted, evicted and cleared entries', () => {
  const c = new PreparedCache(2);
  const e = (n: number): PreparedEntry => ({
    originId: Buffer.alloc(16, n),
    targetId: Buffer.alloc(16, n + 100),
    query: `q${n}`,
    keyspace: '',
    info: inspect('SELECT 1'),
    decision: { kind: 'read' },
  });
  // an EXECUTE-like buffer holding the id at an offset
  const at = (n: number) => Buffer.concat([Buffer.from([1, 2, 3]), Buffer.alloc(16, n), Buffer.from([4])]);
  c.store(e(1));
  c.store(e(2));
  assert.equal(c.getAt(at(1), 3, 19)?.query, 'q1');
  assert.equal(c.getAt(at(1), 3, 18), undefined, 'a shorter id is another id');
  c.store(e(3)); // evicts 2, the least recently used (1 was looked up in place)
  assert.equal(c.getAt(at(2), 3, 19), undefined);
  assert.equal(c.get(Buffer.alloc(16, 2)), undefined);
  assert.ok(c.delete(Buffer.alloc(16, 1)));
  assert.equal(c.getAt(at(1), 3, 19), undefined, 'deleted');
  assert.equal(c.getAt(at(3), 3, 19)?.query, 'q3');
  c.clear();
  assert.equal(c.getAt(at(3), 3, 19), undefined, 'cleared');
  // two ids in the same slot of the recent-hit index (same first two bytes): each found as itself
  const d = new PreparedCache();
  const a = Buffer.alloc(16, 5);
  const b = Buffer.from(a);
  b[15] = 6;
  d.store({ ...e(0), originId: a, query: 'a' });
  d.store({ ...e(0), originId: b, targetId: Buffer.alloc(16, 99), query: 'b' });
  for (let i = 0; i < 3; i++) {
    assert.equal(d.getAt(a, 0, 16)?.query, 'a');
    assert.equal(d.getAt(b, 0, 16)?.query, 'b');
  }
});
