// `zdm-proxy --print-example-config` and examples/zdm.yml: every setting of the schema, at its default,
// commented with its meaning; the checked-in file is exactly the generated text.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCli } from '../../../src/config/cli';
import {
  decodeYamlText,
  defaultSettings,
  envVarName,
  exampleConfigYaml,
  loadConfig,
  SETTING_DEFS,
  SETTING_KEYS,
} from '../../../src/config';

const ROOT = join(__dirname, '..', '..', '..', '..');
const CLI = join(ROOT, 'dist', 'src', 'cli.js');
const EXAMPLE = join(ROOT, 'examples', 'zdm.yml');
const REGENERATE = 'npm run example-config';

test('the example holds every setting at its default, with its env var and meaning', () => {
  const text = exampleConfigYaml();
  assert.deepEqual(decodeYamlText(text, 'example'), defaultSettings(), 'read back, the example is the defaults');
  const lines = text.split('\n');
  for (const key of SETTING_KEYS) {
    const at = lines.findIndex((l) => l.startsWith(`${key}: `));
    assert.ok(at > 0, `${key} has a line`);
    const comment = [];
    for (let i = at - 1; i >= 0 && lines[i]!.startsWith('#'); i--) comment.unshift(lines[i]!.slice(2));
    const joined = comment.join(' ');
    assert.ok(joined.includes(envVarName(key)), `${key}: its comment names ${envVarName(key)}`);
    assert.ok(joined.startsWith(SETTING_DEFS[key].description.split(' ')[0]!), `${key}: its comment is its description`);
  }
  for (const l of lines) assert.ok(l.length <= 120 || !l.startsWith('#'), `comment line too long: ${l}`);
});

test('the example is a working configuration once the clusters are filled in', () => {
  const text = exampleConfigYaml()
    .replace('origin_contact_points: ""', 'origin_contact_points: "10.0.0.1"')
    .replace('target_contact_points: ""', 'target_contact_points: "10.0.1.1"');
  const config = loadConfig({ configPath: 'zdm.yml', readFile: () => text });
  assert.equal(config.settings.origin_contact_points, '10.0.0.1');
  assert.equal(config.settings.proxy_listen_port, 14002);
});

test('--print-example-config prints it (library and compiled binary)', () => {
  const r = runCli(['--print-example-config'], {});
  assert.deepEqual(r, { kind: 'example-config', text: exampleConfigYaml() });
  const bin = spawnSync(process.execPath, [CLI, '--print-example-config'], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(bin.status, 0, bin.stderr);
  assert.equal(bin.stdout, exampleConfigYaml());
});

test(`examples/zdm.yml is the generated example (after adding or changing a setting, run: ${REGENERATE})`, () => {
  const file = readFileSync(EXAMPLE, 'utf8').split('\n');
  const generated = exampleConfigYaml().split('\n');
  const at = generated.findIndex((line, i) => file[i] !== line);
  if (at >= 0 || file.length !== generated.length) {
    const line = at >= 0 ? at : Math.min(file.length, generated.length);
    assert.fail(
      `examples/zdm.yml is stale from line ${line + 1} (file: ${JSON.stringify(file[line])}, ` +
        `generated: ${JSON.stringify(generated[line])}): run ${REGENERATE}`,
    );
  }
});
