// The auth matrix of upstream-spec-notes 3.5.1 against the real clusters, with auth on both, on Origin only, on
// neither and on Target only (the clusters script restarts a node to change its authenticator).
// Distinct roles per cluster (origin_user exists on Origin only, target_user on Target only) show
// which cluster checked the client's credentials; system_views.clients on the checking cluster
// shows the proxy's connection logged in as the client's user. The proxy itself always holds
// cassandra/cassandra for both clusters. Node restarts are kept to four (each cluster changes
// state twice): both -> Origin only -> none -> Target only -> both (restored in after(), always).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdirSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'cassandra-driver';

import {
  createKeyspace,
  dropKeyspace,
  ensureClusters,
  originSession,
  ROOT,
  session,
  setNodeOptions,
  targetSession,
  uniqueKeyspaceName,
} from '../../support/clusters';
import type { ClusterLabel } from '../../../src/cluster';
import { proxyClient, startTestProxy, type TestProxy } from '../../support/proxy';

interface Creds {
  username: string;
  password: string;
}
const ORIGIN_USER: Creds = { username: 'origin_user', password: 'origin_pw_1' };
const TARGET_USER: Creds = { username: 'target_user', password: 'target_pw_2' };
const BOGUS: Creds = { username: 'nobody', password: 'nothing' };

// ---- per-cluster auth switch: restarts only the nodes whose auth differs -----------------------
const setAuth = (want: Record<ClusterLabel, boolean>): Promise<void> =>
  setNodeOptions({ origin: { auth: want.origin }, target: { auth: want.target } });

// ---- cross-process lock: two auth-matrix runs at once would restart the same node twice at the
// same moment (two JVMs on one data directory corrupt it). Other test runs still see the auth
// changes while this file runs: run it when no other integration run uses the clusters.
const LOCK = join(ROOT, '.clusters', 'auth-matrix.lock');
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
async function takeLock(timeoutMs = 300_000): Promise<void> {
  mkdirSync(join(ROOT, '.clusters'), { recursive: true });
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const fd = openSync(LOCK, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const holder = Number(readFileSync(LOCK, 'utf8').trim() || '0');
    if (!holder || !alive(holder)) {
      try {
        unlinkSync(LOCK);
      } catch {
        /* raced */
      }
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another auth-matrix run (pid ${holder}) holds ${LOCK}`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}
function releaseLock(): void {
  try {
    if (Number(readFileSync(LOCK, 'utf8').trim()) === process.pid) unlinkSync(LOCK);
  } catch {
    /* gone */
  }
}

// ---- one client attempt through a proxy --------------------------------------------------------
type Outcome = { ok: true } | { ok: false; message: string };

function errorText(e: unknown): string {
  const err = e as Error & { innerErrors?: Record<string, Error> };
  const inner = err.innerErrors
    ? Object.values(err.innerErrors)
        .map((x) => `${x?.name}: ${x?.message}`)
        .join(' | ')
    : '';
  return `${err.name}: ${err.message}${inner ? ` [${inner}]` : ''}`;
}

describe('proxy: authentication matrix (upstream-spec-notes 3.5.1) against real clusters', () => {
  const ks = uniqueKeyspaceName('proxy_auth');
  let seq = 0;

  /** Connects through the proxy with `creds` (null = no auth provider), writes a row and checks it on both clusters. */
  async function attempt(
    proxy: TestProxy,
    creds: Creds | null,
    checkUser?: { on: ClusterLabel; user: string },
  ): Promise<Outcome> {
    let client: Client | undefined;
    try {
      client = await proxyClient({ proxy, credentials: creds, timeoutMs: 15_000 });
    } catch (e) {
      return { ok: false, message: errorText(e) };
    }
    try {
      const k = `row-${++seq}`;
      await client.execute(`INSERT INTO ${ks}.t (k, v) VALUES ('${k}', '${creds?.username ?? 'anonymous'}')`);
      const read = await client.execute(`SELECT v FROM ${ks}.t WHERE k = '${k}'`);
      assert.deepEqual(
        read.rows.map((r) => r['v']),
        [creds?.username ?? 'anonymous'],
        'read back through the proxy',
      );
      for (const [open, name] of [
        [originSession, 'origin'],
        [targetSession, 'target'],
      ] as const) {
        const c = await open();
        try {
          const rs = await c.execute(`SELECT v FROM ${ks}.t WHERE k = '${k}'`);
          assert.equal(rs.rowLength, 1, `the write through the proxy should be on ${name}`);
        } finally {
          await c.shutdown();
        }
      }
      if (checkUser) {
        // The proxy's connection for this client is logged in on that cluster as the client's user.
        const c = await session(checkUser.on);
        try {
          const rs = await c.execute('SELECT username FROM system_views.clients');
          const users = rs.rows.map((r) => r['username'] as string);
          assert.ok(
            users.includes(checkUser.user),
            `${checkUser.on} should have a connection logged in as ${checkUser.user}; has ${[...new Set(users)].join(', ')}`,
          );
        } finally {
          await c.shutdown();
        }
      }
      return { ok: true };
    } finally {
      await client.shutdown().catch(() => undefined);
    }
  }

  async function expectOk(proxy: TestProxy, creds: Creds | null, checkUser?: { on: ClusterLabel; user: string }): Promise<void> {
    const r = await attempt(proxy, creds, checkUser);
    assert.ok(
      r.ok,
      `expected the handshake with ${creds ? creds.username : 'no credentials'} to succeed: ${r.ok ? '' : r.message}`,
    );
  }
  async function expectRefused(proxy: TestProxy, creds: Creds | null, pattern: RegExp): Promise<void> {
    const r = await attempt(proxy, creds);
    assert.equal(r.ok, false, `expected the handshake with ${creds ? creds.username : 'no credentials'} to be refused`);
    if (!r.ok) assert.match(r.message, pattern);
  }
  const badCreds = (user: string) =>
    new RegExp(`AuthenticationError.*(Provided username ${user} and/or password are incorrect)`, 's');
  const noCreds = /requires authentication|AuthenticationError|authenticator/i;

  /** Starts the two proxies of a phase: forward_client_credentials_to_origin false and true. */
  function phaseProxies(): { get: () => [TestProxy, TestProxy]; start: () => Promise<void>; stop: () => Promise<void> } {
    let p: [TestProxy, TestProxy] | undefined;
    return {
      get: () => {
        assert.ok(p, 'phase proxies not started');
        return p;
      },
      start: async () => {
        p = await Promise.all([
          startTestProxy({ settings: { forward_client_credentials_to_origin: false } }),
          startTestProxy({ settings: { forward_client_credentials_to_origin: true } }),
        ]);
      },
      stop: async () => {
        await Promise.all((p ?? []).map((x) => x.stop().catch(() => undefined)));
        p = undefined;
      },
    };
  }

  before(async () => {
    await takeLock();
    await ensureClusters();
    await setAuth({ origin: true, target: true });
    await createKeyspace(ks);
    const [o, t] = await Promise.all([originSession(), targetSession()]);
    try {
      for (const [c, mine, other] of [
        [o, ORIGIN_USER, TARGET_USER],
        [t, TARGET_USER, ORIGIN_USER],
      ] as const) {
        await c.execute(`DROP ROLE IF EXISTS ${other.username}`);
        await c.execute(`DROP ROLE IF EXISTS ${mine.username}`);
        await c.execute(`CREATE ROLE ${mine.username} WITH PASSWORD = '${mine.password}' AND LOGIN = true AND SUPERUSER = true`);
        await c.execute(`CREATE TABLE IF NOT EXISTS ${ks}.t (k text PRIMARY KEY, v text)`);
      }
    } finally {
      await Promise.all([o.shutdown(), t.shutdown()]);
    }
  });

  after(async () => {
    // Whatever happened: auth back on for both clusters, then clean up.
    let restoreError: unknown;
    try {
      await setAuth({ origin: true, target: true });
    } catch (e) {
      restoreError = e;
    }
    for (const [open, user] of [
      [originSession, ORIGIN_USER],
      [targetSession, TARGET_USER],
    ] as const) {
      try {
        const c = await open();
        try {
          await c.execute(`DROP ROLE IF EXISTS ${user.username}`);
        } finally {
          await c.shutdown();
        }
      } catch {
        /* best effort */
      }
    }
    await dropKeyspace(ks).catch(() => undefined);
    releaseLock();
    if (restoreError) throw restoreError;
  });

  describe('auth on both clusters', () => {
    const proxies = phaseProxies();
    before(async () => {
      await setAuth({ origin: true, target: true });
      await proxies.start();
    });
    after(() => proxies.stop());

    it("default: the client presents TARGET credentials; Target checks them, Origin gets the proxy's", async () => {
      const [fwdOff] = proxies.get();
      await expectOk(fwdOff, TARGET_USER, { on: 'target', user: TARGET_USER.username });
    });
    it('default: ORIGIN credentials are refused (Target does not know origin_user)', async () => {
      await expectRefused(proxies.get()[0], ORIGIN_USER, badCreds(ORIGIN_USER.username));
    });
    it('default: a wrong password and no credentials are refused', async () => {
      await expectRefused(proxies.get()[0], { ...TARGET_USER, password: 'wrong' }, badCreds(TARGET_USER.username));
      await expectRefused(proxies.get()[0], null, noCreds);
    });
    it('forward_client_credentials_to_origin=true: the client presents ORIGIN credentials; Origin checks them', async () => {
      const [, fwdOn] = proxies.get();
      await expectOk(fwdOn, ORIGIN_USER, { on: 'origin', user: ORIGIN_USER.username });
    });
    it('forward_client_credentials_to_origin=true: TARGET credentials are refused (Origin does not know target_user)', async () => {
      await expectRefused(proxies.get()[1], TARGET_USER, badCreds(TARGET_USER.username));
      await expectRefused(proxies.get()[1], null, noCreds);
    });
  });

  describe('auth on Origin only', () => {
    const proxies = phaseProxies();
    before(async () => {
      await setAuth({ origin: true, target: false });
      await proxies.start();
    });
    after(() => proxies.stop());

    it("the client's credentials go to Origin, whatever forward_client_credentials_to_origin says", async () => {
      const [fwdOff, fwdOn] = proxies.get();
      await expectOk(fwdOff, ORIGIN_USER, { on: 'origin', user: ORIGIN_USER.username });
      await expectOk(fwdOn, ORIGIN_USER, { on: 'origin', user: ORIGIN_USER.username });
    });
    it('TARGET credentials and no credentials are refused', async () => {
      const [fwdOff, fwdOn] = proxies.get();
      await expectRefused(fwdOff, TARGET_USER, badCreds(TARGET_USER.username));
      await expectRefused(fwdOn, TARGET_USER, badCreds(TARGET_USER.username));
      await expectRefused(fwdOff, null, noCreds);
    });
  });

  describe('auth on neither cluster', () => {
    const proxies = phaseProxies();
    before(async () => {
      await setAuth({ origin: false, target: false });
      await proxies.start();
    });
    after(() => proxies.stop());

    it('any credentials, or none, are accepted', async () => {
      const [fwdOff, fwdOn] = proxies.get();
      for (const p of [fwdOff, fwdOn]) {
        await expectOk(p, null);
        await expectOk(p, ORIGIN_USER);
        await expectOk(p, TARGET_USER);
        await expectOk(p, BOGUS);
      }
    });
  });

  describe('auth on Target only', () => {
    const proxies = phaseProxies();
    before(async () => {
      await setAuth({ origin: false, target: true });
      await proxies.start();
    });
    after(() => proxies.stop());

    it("the client's credentials go to Target, whatever forward_client_credentials_to_origin says", async () => {
      const [fwdOff, fwdOn] = proxies.get();
      await expectOk(fwdOff, TARGET_USER, { on: 'target', user: TARGET_USER.username });
      await expectOk(fwdOn, TARGET_USER, { on: 'target', user: TARGET_USER.username });
    });
    it('ORIGIN credentials and no credentials are refused', async () => {
      const [fwdOff, fwdOn] = proxies.get();
      await expectRefused(fwdOff, ORIGIN_USER, badCreds(ORIGIN_USER.username));
      await expectRefused(fwdOn, ORIGIN_USER, badCreds(ORIGIN_USER.username));
      await expectRefused(fwdOff, null, noCreds);
    });
  });
});
