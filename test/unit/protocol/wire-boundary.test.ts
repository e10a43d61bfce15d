// The wire boundary: src/protocol is all wire access. Routing and frontend import from src/protocol only through
// its codec interface (src/protocol/codec.ts) and read or write no bytes themselves (no Reader/Writer, no
// Buffer read/write of integers); the rest of src does not read or write CQL bytes outside src/protocol either
// (two exceptions, neither CQL framing: IP address bytes for virtual host ids, and the zip reader of Astra bundles).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const SRC = join(__dirname, '..', '..', '..', '..', 'src');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith('.ts')) out.push(p);
  }
  return out;
}

const BYTE_ACCESS = /\.(read|write)(U?Int(8|16|32)|BigU?Int64|Float|Double)(BE|LE)?\(|new (Reader|Writer)\(/;
const PROTOCOL_IMPORT = /from '((?:\.\.\/)+protocol\/[^']+)'/g;

test('routing and frontend: wire access only through src/protocol/codec, no byte reads or writes', () => {
  const files = [...sources(join(SRC, 'routing')), ...sources(join(SRC, 'frontend'))];
  assert.ok(files.length > 10, 'the scan sees the sources');
  const bad: string[] = [];
  for (const f of files) {
    const text = readFileSync(f, 'utf8');
    for (const m of text.matchAll(PROTOCOL_IMPORT)) {
      if (!/\/protocol\/codec$/.test(m[1]!)) bad.push(`${relative(SRC, f)} imports ${m[1]}`);
    }
    text.split('\n').forEach((line, i) => {
      if (BYTE_ACCESS.test(line)) bad.push(`${relative(SRC, f)}:${i + 1} reads or writes bytes: ${line.trim()}`);
    });
  }
  assert.deepEqual(bad, []);
});

test('the rest of src: no byte reads or writes outside src/protocol (IP bytes and the zip reader excepted)', () => {
  const allowed = new Set(['tls/zip.ts']);
  const bad: string[] = [];
  for (const f of sources(SRC)) {
    const rel = relative(SRC, f);
    if (rel.startsWith('protocol/') || allowed.has(rel)) continue;
    const text = readFileSync(f, 'utf8');
    if (/protocol\/primitives'/.test(text) && !/import \{ ipToBytes \} from '\.\.\/protocol\/primitives'/.test(text))
      bad.push(`${rel} imports protocol/primitives`);
    text.split('\n').forEach((line, i) => {
      if (BYTE_ACCESS.test(line)) bad.push(`${rel}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(bad, []);
  // the check can fail: a line of the kind it looks for is caught
  assert.ok(BYTE_ACCESS.test('const n = body.readInt32BE(0);'));
  assert.ok(BYTE_ACCESS.test('const r = new Reader(body);'));
});
