// The handshake with auth through the proxy (upstream-spec-notes 3.5.1 matrix) with fake servers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ErrorCode, Opcode } from '../../../src/protocol/constants';
import { buildPlainToken } from '../../../src/backend/authenticator';
import { TestClient, errorOf, startHarness } from './harness';

const creds = { ZDM_ORIGIN_USERNAME: 'ou', ZDM_ORIGIN_PASSWORD: 'op', ZDM_TARGET_USERNAME: 'tu', ZDM_TARGET_PASSWORD: 'tp' };
const O = { username: 'ou', password: 'op' };
const T = { username: 'tu', password: 'tp' };

async function login(port: number, user: string, pass: string): Promise<{ ok: boolean; code?: number }> {
  const c = await TestClient.connect(port);
  try {
    const a = await c.request({ opcode: Opcode.STARTUP, options: { CQL_VERSION: '3.0.0' } });
    if (a.opcode === Opcode.READY) return { ok: true };
    assert.equal(a.opcode, Opcode.AUTHENTICATE);
    const r = await c.request({ opcode: Opcode.AUTH_RESPONSE, token: buildPlainToken(user, pass) });
    if (r.opcode === Opcode.AUTH_SUCCESS) return { ok: true };
    return { ok: false, code: errorOf(r).code };
  } finally {
    c.close();
  }
}

for (const [name, servers, good, bad] of [
  ['auth on both (default): TARGET credentials', { origin: { auth: O }, target: { auth: T } }, T, O],
  ['auth on TARGET only: TARGET credentials', { target: { auth: T } }, T, O],
  ['auth on ORIGIN only: ORIGIN credentials', { origin: { auth: O } }, O, T],
] as const) {
  test(`${name} accepted, the other cluster's refused`, async () => {
    const h = await startHarness(creds, servers);
    try {
      assert.deepEqual(await login(h.proxy.port, good.username, good.password), { ok: true });
      const r = await login(h.proxy.port, bad.username, bad.password);
      assert.equal(r.ok, false);
      assert.equal(r.code, ErrorCode.AUTH_ERROR);
    } finally {
      await h.close();
    }
  });
}
