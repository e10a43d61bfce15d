import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { identifierValue, quoteIdentifier, T, tokenize } from '../../../src/cql/lexer';
import { inspect } from '../../../src/cql/inspector';

const kinds = (q: string) => tokenize(q, false).map((t) => [t.kind, t.text]);

test('token kinds', () => {
  assert.deepEqual(
    kinds('SELECT "My""Id", \'it\'\'s\', $$a$b$$, 12, -1.5e3, 1h30m, 0xCAFE, 97bda55b-6175-4c39-9e04-7c0205c709dc, ?, :n'),
    [
      ['ident', 'SELECT'],
      ['qident', '"My""Id"'],
      ['punct', ','],
      ['string', "'it''s'"],
      ['punct', ','],
      ['string', '$$a$b$$'],
      ['punct', ','],
      ['number', '12'],
      ['punct', ','],
      ['punct', '-'],
      ['number', '1.5e3'],
      ['punct', ','],
      ['number', '1h30m'],
      ['punct', ','],
      ['blob', '0xCAFE'],
      ['punct', ','],
      ['uuid', '97bda55b-6175-4c39-9e04-7c0205c709dc'],
      ['punct', ','],
      ['qmark', '?'],
      ['punct', ','],
      ['named', ':n'],
    ],
  );
  assert.deepEqual(
    tokenize('a -- x\n/* y */b // z').map((t) => t.kind),
    ['ident', 'ws', 'comment', 'ws', 'comment', 'ident', 'ws', 'comment'],
  );
  assert.deepEqual(
    tokenize("'abc").map((t) => t.kind),
    ['error'],
  );
  assert.deepEqual(
    tokenize('/* abc').map((t) => t.kind),
    ['error'],
  );
  assert.deepEqual(
    tokenize('"abc').map((t) => t.kind),
    ['error'],
  );
  assert.deepEqual(
    tokenize('$$abc').map((t) => t.kind),
    ['error'],
  );
});

function assertCovers(s: string): void {
  const toks = tokenize(s);
  let pos = 0;
  for (const t of toks) {
    assert.equal(t.start, pos);
    assert.ok(t.end > t.start);
    pos = t.end;
  }
  assert.equal(pos, s.length);
  assert.equal(toks.map((t) => t.text).join(''), s);
  const sig = tokenize(s, false);
  for (let i = 1; i < sig.length; i++) assert.ok(sig[i].start >= sig[i - 1].end);
}

const cqlish = fc
  .array(
    fc.constantFrom(
      'SELECT',
      'INSERT',
      'INTO',
      'UPDATE',
      'DELETE',
      'FROM',
      'BEGIN',
      'BATCH',
      'APPLY',
      'USE',
      'CALL',
      'system',
      'local',
      'peers',
      'now',
      '(',
      ')',
      '[',
      ']',
      '{',
      '}',
      ',',
      '.',
      ';',
      '?',
      ':',
      ':x',
      "'",
      "''",
      '"',
      '""',
      '$$',
      '--',
      '//',
      '/*',
      '*/',
      '\n',
      ' ',
      '\t',
      '\r',
      '0x',
      '1',
      '-',
      'e',
      'IF',
      'VALUES',
      'SET',
      'WHERE',
      '=',
      '*',
      'count',
      'AS',
      'µ',
      '😀',
    ),
    { maxLength: 60 },
  )
  .map((a) => a.join(''));

test('property: tokens cover the input exactly (arbitrary strings)', () => {
  fc.assert(
    fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (s) => assertCovers(s)),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(cqlish, (s) => assertCovers(s)),
    { numRuns: 3000 },
  );
});

test('property: inspect never throws, returns a kind, offsets lie inside the input', () => {
  const check = (s: string) => {
    const i = inspect(s);
    assert.ok(typeof i.kind === 'string');
    for (const n of i.nowCalls) assert.ok(n.start >= 0 && n.end <= s.length && n.start < n.end);
    for (const m of i.bindMarkers) assert.ok(m.start >= 0 && m.end <= s.length);
  };
  fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 300 }), check), { numRuns: 2000 });
  fc.assert(fc.property(cqlish, check), { numRuns: 5000 });
});

test('linear-ish: a 1 MiB input is inspected', () => {
  const big = `INSERT INTO t (a) VALUES (${'('.repeat(200_000)}now()${')'.repeat(200_000)})`;
  const i = inspect(big);
  assert.equal(i.kind, 'insert');
  assert.equal(i.nowCalls.length, 1);
  assert.equal(inspect("'".repeat(1 << 20)).kind, 'other');
});

test('quoteIdentifier: one quoted identifier token whose value is the name again (case kept, quotes doubled)', () => {
  for (const name of ['ks', 'MyTable', 'a"b', '"', 'with space', 'ä']) {
    const q = quoteIdentifier(name);
    const toks = tokenize(q, false);
    assert.equal(toks.length, 1, q);
    assert.equal(toks[0]!.kind, 'qident', q);
    assert.equal(identifierValue(q, T.QIDENT, 0, q.length), name);
  }
});
