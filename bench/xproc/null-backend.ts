// A null CQL backend for the cross-process benchmark (its own process): the scriptable fake server answers the
// handshake and the control connection's system.local/system.peers queries correctly, and every benchmark
// EXECUTE at once with a canned reply (VOID for the INSERT, one row of 100 B or 10 KiB for the SELECTs).
//   node dist/bench/xproc/null-backend.js '{"host":"127.0.0.1","port":0,"salt":"origin"}'
// With "auth":{"username":..,"password":..} it asks for PasswordAuthenticator credentials (as a cluster with auth on).
// Prints one JSON line {"ready":true,"port":N} when listening.
import { Opcode, ProtocolVersion, ResultKind } from '../../src/protocol/constants';
import { encodeFrame } from '../../src/protocol/frame-codec';
import type { RawFrame } from '../../src/protocol/frame';
import { peekPreparedId } from '../../src/protocol/frame-codec';
import { rowsResult } from '../../src/protocol/messages/index';
import { DataTypes } from '../../src/protocol/values';
import { FakeServer } from '../../test/support/fake-server';
import { BENCH_STATEMENTS, type BenchStatement } from './workloads';

interface Options {
  host: string;
  port: number;
  salt: string;
  auth?: { username: string; password: string };
}

function reply(version: ProtocolVersion, rowBytes: number | undefined): RawFrame {
  const message =
    rowBytes === undefined
      ? ({ opcode: Opcode.RESULT, kind: ResultKind.VOID } as const)
      : rowsResult('bench', 'kv', [{ name: 'v', type: DataTypes.blob }], [[Buffer.alloc(rowBytes, 0x61)]], version, {
          noMetadata: true,
        });
  return encodeFrame({ version, isResponse: true, streamId: 0, flags: 0, message });
}

async function main(): Promise<void> {
  const o = JSON.parse(process.argv[2] ?? '{}') as Options;
  const server = await FakeServer.start({
    host: o.host,
    port: o.port,
    maxVersion: ProtocolVersion.V5,
    preparedIdSalt: o.salt,
    record: false,
    auth: o.auth,
  });
  // prepared id (hex) -> canned reply per version
  const replies = new Map<string, Map<ProtocolVersion, RawFrame>>();
  for (const s of Object.values(BENCH_STATEMENTS) as BenchStatement[]) {
    const byVersion = new Map<ProtocolVersion, RawFrame>();
    for (const v of [ProtocolVersion.V3, ProtocolVersion.V4, ProtocolVersion.V5]) byVersion.set(v, reply(v, s.rowBytes));
    replies.set(server.preparedId(s.cql).toString('hex'), byVersion);
  }
  server.fastReply = (f) => {
    if (f.opcode !== Opcode.EXECUTE) return undefined;
    const id = peekPreparedId(f);
    const r = id && replies.get(id.toString('hex'))?.get(f.version);
    return r ? r.withStreamId(f.streamId) : undefined;
  };
  process.stdout.write(`${JSON.stringify({ ready: true, port: server.port })}\n`);
  process.on('SIGTERM', () => void server.stop().then(() => process.exit(0)));
}

void main();
