// Settings accepted for compatibility but not implemented yet are refused or warned about, never silently ignored.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import pino from 'pino';
import { loadConfig } from '../../../src/config';
import { checkSupported } from '../../../src/proxy';

const base = {
  ZDM_ORIGIN_CONTACT_POINTS: '127.0.0.1',
  ZDM_TARGET_CONTACT_POINTS: '127.0.0.2',
  ZDM_ORIGIN_USERNAME: 'u',
  ZDM_ORIGIN_PASSWORD: 'p',
  ZDM_TARGET_USERNAME: 'u',
  ZDM_TARGET_PASSWORD: 'p',
};

function capture(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const out = new Writable({
    write(chunk, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { logger: pino({ level: 'info' }, out), lines };
}

test('tracing_enabled logs a warning that request ids are not added', () => {
  const config = loadConfig({ env: { ...base, ZDM_TRACING_ENABLED: 'true' } });
  const { logger, lines } = capture();
  checkSupported(config, logger);
  assert.equal(lines.length, 1);
  assert.match(lines[0]!, /tracing_enabled is set, but request-id tracing is not implemented/);
});

test('a default configuration passes without a word', () => {
  const config = loadConfig({ env: base });
  const { logger, lines } = capture();
  checkSupported(config, logger);
  assert.equal(lines.length, 0);
});
