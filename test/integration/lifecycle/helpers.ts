// Shared helpers for the lifecycle integration tests (prepared statements, batches, USE, events,
// heartbeats, timeouts, limits, shutdown) against the real Origin and Target clusters.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import type { Client } from 'cassandra-driver';

import { FrameDecoder, type Opcode, opcodeName } from '../../../src/protocol';
import { createKeyspace, originSession, targetSession } from '../../support/clusters';

export interface Direct {
  origin: Client;
  target: Client;
  /** Runs a statement directly on both clusters. */
  both(cql: string, params?: unknown[]): Promise<void>;
  /** The rows of a read run directly on each cluster: [origin rows, target rows] (plain objects). */
  read(cql: string, params?: unknown[]): Promise<[Record<string, unknown>[], Record<string, unknown>[]]>;
  shutdown(): Promise<void>;
}

/** Creates the keyspace on both clusters, runs the DDL on both, and returns direct sessions. */
export async function directSessions(ks: string, ddl: string[] = []): Promise<Direct> {
  await createKeyspace(ks);
  const [origin, target] = await Promise.all([originSession({ timeoutMs: 20_000 }), targetSession({ timeoutMs: 20_000 })]);
  const both = async (cql: string, params: unknown[] = []): Promise<void> => {
    await Promise.all([origin, target].map((c) => c.execute(cql, params, { prepare: params.length > 0 })));
  };
  for (const d of ddl) await both(d);
  return {
    origin,
    target,
    both,
    async read(cql, params = []) {
      const [o, t] = await Promise.all([origin, target].map((c) => c.execute(cql, params, { prepare: true })));
      return [o!.rows.map((r) => ({ ...r })), t!.rows.map((r) => ({ ...r }))];
    },
    async shutdown() {
      await Promise.all([origin.shutdown().catch(() => undefined), target.shutdown().catch(() => undefined)]);
    },
  };
}

/** Asserts that a single-row read gives `expected` on both clusters (undefined = no row). */
export async function assertOnBoth(
  d: Direct,
  cql: string,
  params: readonly unknown[],
  expected: Record<string, unknown> | undefined,
  what = cql,
): Promise<void> {
  const [o, t] = await d.read(cql, [...params]);
  assert.deepEqual(norm(o[0]), expected, `${what}: Origin has ${JSON.stringify(norm(o[0]))}`);
  assert.deepEqual(norm(t[0]), expected, `${what}: Target has ${JSON.stringify(norm(t[0]))}`);
}

/** Driver values to plain JSON-like values (Long -> number, ...). */
export function norm(row: Record<string, unknown> | undefined): Record<string, unknown> | undefined {
  if (!row) return undefined;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(row)) {
    if (v && typeof v === 'object' && 'toNumber' in v && typeof (v as { toNumber: unknown }).toNumber === 'function') {
      out[k] = (v as { toNumber(): number }).toNumber();
    } else if (typeof v === 'bigint') out[k] = Number(v);
    else out[k] = v;
  }
  return out;
}

interface RelayedConnection {
  /** Order of acceptance, from 1. */
  index: number;
  acceptedAt: number;
  /** Opcode names of the requests sent through this connection (client -> server), in order. */
  requests: string[];
  /** Set when the client -> server stream could not be framed (e.g. v5 segments): counting stops. */
  unframed: boolean;
  closed: boolean;
}

/**
 * A TCP relay that frames the client -> server direction (protocol v3/v4 frames) and records the
 * opcode of every request per relayed connection, e.g. to count the proxy's OPTIONS heartbeats
 * toward a cluster. Listens on `host` (give the cluster node's address, e.g. 127.0.0.2, so that the
 * proxy's host assignment, which keeps the node's address and the configured port, still lands here).
 */
export class CountingRelay {
  readonly connections: RelayedConnection[] = [];
  private server!: net.Server;
  private readonly sockets = new Set<net.Socket>();
  port = 0;

  private constructor(
    readonly host: string,
    private readonly target: { host: string; port: number },
  ) {}

  static async start(host: string, target: { host: string; port: number }): Promise<CountingRelay> {
    const r = new CountingRelay(host, target);
    r.server = net.createServer((c) => r.accept(c));
    await new Promise<void>((resolve, reject) => {
      r.server.once('error', reject);
      r.server.listen(0, host, () => resolve());
    });
    r.port = (r.server.address() as net.AddressInfo).port;
    return r;
  }

  /** Requests with this opcode on connections accepted at or after `since` (ms timestamp). */
  count(opcode: Opcode, since = 0): number {
    const name = opcodeName(opcode);
    return this.connections
      .filter((c) => c.acceptedAt >= since)
      .reduce((n, c) => n + c.requests.filter((o) => o === name).length, 0);
  }

  private accept(client: net.Socket): void {
    const conn: RelayedConnection = {
      index: this.connections.length + 1,
      acceptedAt: Date.now(),
      requests: [],
      unframed: false,
      closed: false,
    };
    this.connections.push(conn);
    const server = net.connect(this.target);
    this.sockets.add(client);
    this.sockets.add(server);
    const decoder = new FrameDecoder({ expectResponses: false });
    client.on('data', (chunk: Buffer) => {
      if (!conn.unframed) {
        try {
          for (const f of decoder.push(chunk)) conn.requests.push(opcodeName(f.opcode));
        } catch {
          conn.unframed = true;
        }
      }
      server.write(chunk);
    });
    server.on('data', (chunk: Buffer) => client.write(chunk));
    const close = (): void => {
      conn.closed = true;
      client.destroy();
      server.destroy();
      this.sockets.delete(client);
      this.sockets.delete(server);
    };
    client.on('error', close);
    server.on('error', close);
    client.on('close', close);
    server.on('close', close);
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((r) => this.server.close(() => r()));
  }
}
