// Child process for proxy-restart.test.ts: a long-lived Node cassandra-driver session writing prepared
// INSERTs through the proxy while the parent restarts the proxy. Run in its own process because
// cassandra-driver 4.10 can keep reconnecting a replaced Host object forever after its only host went
// away and came back, which would keep a test process alive after client.shutdown().
//
//   node restart-client.js <host> <port> <keyspace> <mode: sequential|concurrent> <firstKey>
// stdout lines: `progress <writes done>`, `paused` (sequential mode, after the first 20 writes),
// `RESULT <json>` at the end. stdin lines: `go` (sequential: continue after the restart),
// `stop` (concurrent: finish). Exits with process.exit(0) once RESULT is printed.
import { createInterface } from 'node:readline';
import { auth, Client, policies } from 'cassandra-driver';

import { waitFor } from '../../support/wait';

async function main(): Promise<void> {
  const [host, portText, ks, mode, firstKeyText] = process.argv.slice(2);
  const port = Number(portText);
  const client = new Client({
    contactPoints: [`${host}:${port}`],
    localDataCenter: 'datacenter1',
    protocolOptions: { port },
    authProvider: new auth.PlainTextAuthProvider('cassandra', 'cassandra'),
    socketOptions: { connectTimeout: 10_000, readTimeout: 10_000 },
    pooling: { heartBeatInterval: 0 },
    policies: { reconnection: new policies.reconnection.ConstantReconnectionPolicy(200) },
    // Do not re-prepare when the host comes back: the next EXECUTE must meet the proxy's UNPREPARED.
    rePrepareOnUp: false,
  });
  await client.connect();
  const lines: string[] = [];
  const waiters: (() => void)[] = [];
  createInterface({ input: process.stdin }).on('line', (l) => {
    lines.push(l.trim());
    for (const w of waiters.splice(0)) w();
  });
  const waitLine = async (want: string): Promise<void> => {
    while (!lines.includes(want)) await new Promise<void>((r) => waiters.push(r));
  };

  const host0 = client.hosts.values()[0]!;
  /** the driver has the proxy up again with an open connection (its own reconnection runs every 200 ms) */
  const reconnected = (): boolean => host0.isUp() && client.getState().getOpenConnections(host0) > 0;
  const cql = `INSERT INTO ${ks}.w (k, v) VALUES (?, ?)`;
  const errors: string[] = [];
  let unavailable = 0;
  let key = Number(firstKeyText);
  let done = 0;
  const written: number[] = [];
  const write = async (tolerateUnavailable: boolean): Promise<void> => {
    for (;;) {
      try {
        // Idempotent: a request caught by the socket close of the restart may be retried by the driver.
        await client.execute(cql, [key, `v${key}`], { prepare: true, isIdempotent: tolerateUnavailable });
        written.push(key++);
        done++;
        process.stdout.write(`progress ${done}\n`);
        return;
      } catch (e) {
        const err = e as Error;
        if (tolerateUnavailable && err.name === 'NoHostAvailableError') {
          unavailable++;
          // the proxy is restarting: retry once the driver has reconnected to it (or after 20 s in any case)
          await waitFor('the driver to reconnect to the restarted proxy', reconnected, { timeoutMs: 20_000 }).catch(
            () => undefined,
          );
          continue;
        }
        errors.push(`k=${key}: ${err.name}: ${err.message}`);
        key++;
        return;
      }
    }
  };

  if (mode === 'sequential') {
    for (let i = 0; i < 20; i++) await write(false);
    process.stdout.write('paused\n');
    await waitLine('go');
    // the driver's own reconnection: RESULT reports whether it got there within 20 s
    await waitFor('the driver to reconnect to the restarted proxy', reconnected, { timeoutMs: 20_000, intervalMs: 100 }).catch(
      () => undefined,
    );
    const up = host0.isUp();
    for (let i = 0; i < 40; i++) await write(false);
    process.stdout.write(`RESULT ${JSON.stringify({ errors, unavailable, written, reconnected: up })}\n`);
  } else {
    let stop = false;
    void waitLine('stop').then(() => {
      stop = true;
    });
    while (!stop) await write(true);
    process.stdout.write(`RESULT ${JSON.stringify({ errors, unavailable, written, reconnected: true })}\n`);
  }
  await Promise.race([client.shutdown(), new Promise((r) => setTimeout(r, 2000))]);
  process.exit(0);
}

main().catch((e) => {
  process.stdout.write(`RESULT ${JSON.stringify({ fatal: String((e as Error).stack ?? e) })}\n`);
  process.exit(1);
});
