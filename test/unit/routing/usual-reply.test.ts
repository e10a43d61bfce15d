// usualReply answers the common case without aggregate(): whenever it picks a frame, aggregate() must pick the
// same one and have nothing else to do (no keyspace, note, problem or failed side); for the cases it leaves to
// aggregate() (errors, SET_KEYSPACE, PREPARE, OPTIONS, a body with an envelope) it returns undefined.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ErrorCode, HeaderFlag, Opcode, ProtocolVersion, ResultKind } from '../../../src/protocol/constants';
import { RawFrame } from '../../../src/protocol/frame';
import { Writer } from '../../../src/protocol/primitives';
import { PreparedCache } from '../../../src/routing/prepared-cache';
import { aggregate, usualReply } from '../../../src/routing/response-aggregator';

const V4 = ProtocolVersion.V4;
type ReplyKind = 'void' | 'rows' | 'set-keyspace' | 'error' | 'unprepared' | 'void+warning';

function reply(kind: ReplyKind, stream: number): RawFrame {
  const w = new Writer();
  let flags = 0;
  let opcode: number = Opcode.RESULT;
  switch (kind) {
    case 'void':
      w.writeInt(ResultKind.VOID);
      break;
    case 'void+warning':
      flags = HeaderFlag.WARNING;
      w.writeStringList(['careful']).writeInt(ResultKind.VOID);
      break;
    case 'rows':
      w.writeInt(ResultKind.ROWS).writeInt(0x0004).writeInt(1).writeInt(0); // no metadata, 1 column, 0 rows
      break;
    case 'set-keyspace':
      w.writeInt(ResultKind.SET_KEYSPACE).writeString('ks2');
      break;
    case 'error':
      opcode = Opcode.ERROR;
      w.writeInt(ErrorCode.WRITE_TIMEOUT).writeString('timeout').writeShort(1).writeInt(0).writeInt(1).writeString('SIMPLE');
      break;
    case 'unprepared':
      opcode = Opcode.ERROR;
      w.writeInt(ErrorCode.UNPREPARED).writeString('unprepared').writeShortBytes(Buffer.alloc(16, 3));
      break;
  }
  return RawFrame.fromParts({ version: V4, isResponse: true, flags, streamId: stream, opcode }, w.finish());
}

test('usualReply picks what aggregate() would, and only when aggregate() has nothing else to do', () => {
  const kinds: ReplyKind[] = ['void', 'rows', 'set-keyspace', 'error', 'unprepared', 'void+warning'];
  let usual = 0;
  fc.assert(
    fc.property(
      fc.constantFrom(Opcode.QUERY, Opcode.EXECUTE, Opcode.BATCH, Opcode.PREPARE, Opcode.OPTIONS, Opcode.REGISTER),
      fc.constantFrom('both', 'origin', 'target'),
      fc.constantFrom(...kinds),
      fc.constantFrom(...kinds),
      fc.constantFrom('ORIGIN', 'TARGET'),
      fc.constantFrom('read', 'write', 'none'),
      (opcode, to, ok, tk, primary, tracking) => {
        const request = RawFrame.fromParts({ version: V4, isResponse: false, flags: 0, streamId: 5, opcode }, Buffer.alloc(0));
        const origin = to === 'target' ? undefined : reply(ok, 11);
        const target = to === 'origin' ? undefined : reply(tk, 12);
        const picked = usualReply(opcode, to, undefined, origin, target, primary);
        const res = aggregate({
          request,
          to,
          tracking,
          origin,
          target,
          primary,
          cache: new PreparedCache(),
          supportedOptions: () => ({ origin: {}, target: {} }),
        });
        if (picked === undefined) return;
        usual++;
        assert.equal(res.reply, picked, 'the same frame');
        assert.equal(res.keyspace, undefined);
        assert.equal(res.note, undefined);
        assert.equal(res.problem, undefined);
        assert.equal(res.failedOn, undefined);
        assert.ok(origin?.opcode !== Opcode.ERROR && target?.opcode !== Opcode.ERROR, 'never with an ERROR reply');
      },
    ),
    { numRuns: 1000 },
  );
  assert.ok(usual > 50, `the usual case was met (${usual} times)`);
});

test('usualReply leaves SET_KEYSPACE, errors, PREPARE, OPTIONS and envelopes to aggregate()', () => {
  const v = reply('void', 1);
  assert.equal(usualReply(Opcode.EXECUTE, 'both', undefined, v, reply('void', 2), 'ORIGIN'), v);
  assert.equal(
    usualReply(Opcode.QUERY, 'both', undefined, reply('set-keyspace', 1), reply('set-keyspace', 2), 'ORIGIN'),
    undefined,
  );
  assert.equal(usualReply(Opcode.EXECUTE, 'both', undefined, v, reply('error', 2), 'ORIGIN'), undefined);
  assert.equal(usualReply(Opcode.PREPARE, 'both', undefined, v, v, 'ORIGIN'), undefined);
  assert.equal(usualReply(Opcode.OPTIONS, 'both', undefined, v, v, 'ORIGIN'), undefined);
  assert.equal(usualReply(Opcode.EXECUTE, 'origin', undefined, reply('void+warning', 1), undefined, 'ORIGIN'), undefined);
  const t = reply('rows', 2);
  assert.equal(usualReply(Opcode.EXECUTE, 'both', undefined, v, t, 'TARGET'), t, 'the primary answers');
});
