/**
 * Hand-written CQL tokenizer.
 *
 * Design goals (it runs on the per-request path for every QUERY and PREPARE):
 *  - never throws, whatever the input: unterminated strings, quoted identifiers and block comments
 *    become a single token of kind `error` that runs to the end of the input;
 *  - linear time, one pass, no regular expressions, no substring allocation: tokens only carry
 *    `start`/`end` offsets (UTF-16 code units, i.e. JS string indices) into the original string;
 *  - every character of the input belongs to exactly one token, trivia included, so the tokens
 *    (with trivia) are contiguous and their concatenation is the input.
 *
 * `CqlLexer` is a streaming, allocation-free cursor (the inspector uses it); `tokenize()` is a
 * convenience that returns an array of `Token` objects.
 */

/** Token kinds as small integers (hot path). `TOKEN_KIND_NAMES` maps them to readable names. */
export const T = {
  /** spaces, tabs, CR, LF (and other ASCII control/white chars) */
  WS: 0,
  /** `-- ...`, `// ...` (up to, not including, the line end) or `/* ... *\/` */
  COMMENT: 1,
  /** unquoted identifier or keyword: `[A-Za-z][A-Za-z0-9_]*` (case-insensitive) */
  IDENT: 2,
  /** double-quoted identifier `"My""Id"` (case-sensitive, `""` escapes `"`) */
  QIDENT: 3,
  /** `'...'` (with `''` escape) or `$$...$$` */
  STRING: 4,
  /** integer, float, or duration with units (`12`, `1.5e3`, `1h30m`); a leading `-` is a separate PUNCT */
  NUMBER: 5,
  /** `01234567-89ab-cdef-0123-456789abcdef` */
  UUID: 6,
  /** `0xcafe` */
  BLOB: 7,
  /** any other single character: `( ) [ ] { } , . ; = < > + - * / : ...` */
  PUNCT: 8,
  /** positional bind marker `?` */
  QMARK: 9,
  /** named bind marker `:name` or `:"Name"` (the token includes the colon) */
  NAMED: 10,
  /** unterminated string / quoted identifier / block comment: runs to the end of the input */
  ERROR: 11,
} as const;

export type TokenKindCode = (typeof T)[keyof typeof T];

export const TOKEN_KIND_NAMES = [
  'ws',
  'comment',
  'ident',
  'qident',
  'string',
  'number',
  'uuid',
  'blob',
  'punct',
  'qmark',
  'named',
  'error',
] as const;

export type TokenKind = (typeof TOKEN_KIND_NAMES)[number];

export interface Token {
  kind: TokenKind;
  /** offset of the first code unit in the input */
  start: number;
  /** offset just past the last code unit (exclusive) */
  end: number;
  /** the token text (only filled by `tokenize()`, which allocates anyway) */
  text: string;
}

// Character classes --------------------------------------------------------------------------

function isLetter(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90);
}
function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}
function isHex(c: number): boolean {
  return (c >= 48 && c <= 57) || (c >= 97 && c <= 102) || (c >= 65 && c <= 70);
}
function isIdentPart(c: number): boolean {
  return isLetter(c) || isDigit(c) || c === 95; /* _ */
}
function isWs(c: number): boolean {
  // space, tab, LF, VT, FF, CR
  return c === 32 || (c >= 9 && c <= 13);
}

/** Whether `s` has a UUID literal (8-4-4-4-12 hex digits) at `i`, not followed by an identifier char. */
/**
 * End (exclusive) of a quoted run starting at `i` with the quote char `q` ('...' strings, "..."
 * identifiers), where a doubled quote is an escaped one; -1 when it is not closed.
 */
function quotedEnd(s: string, i: number, q: number): number {
  const n = s.length;
  i++;
  while (i < n) {
    if (s.charCodeAt(i) === q) {
      if (s.charCodeAt(i + 1) !== q) return i + 1;
      i += 2;
    } else i++;
  }
  return -1;
}

function isUuidAt(s: string, i: number): boolean {
  if (i + 36 > s.length) return false;
  if (s.charCodeAt(i + 8) !== 45 || s.charCodeAt(i + 13) !== 45) return false;
  if (s.charCodeAt(i + 18) !== 45 || s.charCodeAt(i + 23) !== 45) return false;
  for (let k = 0; k < 36; k++) {
    if (k === 8 || k === 13 || k === 18 || k === 23) continue;
    if (!isHex(s.charCodeAt(i + k))) return false;
  }
  return !(i + 36 < s.length && isIdentPart(s.charCodeAt(i + 36)));
}

/**
 * Streaming lexer. Usage:
 * ```ts
 * const lx = new CqlLexer(cql);
 * while (lx.next()) { use(lx.kind, lx.start, lx.end); }
 * ```
 * Trivia (WS, COMMENT) are returned too; callers skip them.
 */
export class CqlLexer {
  /** kind of the current token (one of `T`) */
  kind: TokenKindCode = T.WS;
  start = 0;
  end = 0;
  private pos = 0;
  /** end offset and kind of the previous significant (non-trivia) token, for `:name` disambiguation */
  private prevSigEnd = -1;
  private prevSigKind: number = -1;

  constructor(private src: string = '') {}

  reset(src: string): void {
    this.src = src;
    this.pos = 0;
    this.start = 0;
    this.end = 0;
    this.kind = T.WS;
    this.prevSigEnd = -1;
    this.prevSigKind = -1;
  }

  /** Advances to the next token. Returns false at the end of the input. */
  next(): boolean {
    const s = this.src;
    const n = s.length;
    let i = this.pos;
    if (i >= n) return false;
    this.start = i;
    const c = s.charCodeAt(i);
    let kind: TokenKindCode;

    if (isWs(c)) {
      i++;
      while (i < n && isWs(s.charCodeAt(i))) i++;
      kind = T.WS;
    } else if ((c === 45 /* - */ && s.charCodeAt(i + 1) === 45) || (c === 47 /* / */ && s.charCodeAt(i + 1) === 47)) {
      i += 2;
      while (i < n) {
        const d = s.charCodeAt(i);
        if (d === 10 || d === 13) break;
        i++;
      }
      kind = T.COMMENT;
    } else if (c === 47 /* / */ && s.charCodeAt(i + 1) === 42 /* * */) {
      const close = s.indexOf('*/', i + 2);
      kind = close < 0 ? T.ERROR : T.COMMENT;
      i = close < 0 ? n : close + 2;
    } else if (c === 39 /* ' */) {
      const close = quotedEnd(s, i, 39);
      kind = close < 0 ? T.ERROR : T.STRING;
      i = close < 0 ? n : close;
    } else if (c === 36 /* $ */ && s.charCodeAt(i + 1) === 36) {
      const close = s.indexOf('$$', i + 2);
      kind = close < 0 ? T.ERROR : T.STRING;
      i = close < 0 ? n : close + 2;
    } else if (c === 34 /* " */) {
      const close = quotedEnd(s, i, 34);
      kind = close < 0 ? T.ERROR : T.QIDENT;
      i = close < 0 ? n : close;
    } else if (isHex(c) && isUuidAt(s, i)) {
      i += 36;
      kind = T.UUID;
    } else if (c === 48 /* 0 */ && (s.charCodeAt(i + 1) | 32) === 120 /* x */) {
      i += 2;
      while (i < n && isHex(s.charCodeAt(i))) i++;
      kind = T.BLOB;
    } else if (isDigit(c)) {
      i++;
      while (i < n && isDigit(s.charCodeAt(i))) i++;
      if (s.charCodeAt(i) === 46 /* . */ && isDigit(s.charCodeAt(i + 1))) {
        i++;
        while (i < n && isDigit(s.charCodeAt(i))) i++;
      } else if (s.charCodeAt(i) === 46 && !isLetter(s.charCodeAt(i + 1))) {
        i++; // `1.` is a float in CQL
      }
      if ((s.charCodeAt(i) | 32) === 101 /* e */) {
        let j = i + 1;
        const sign = s.charCodeAt(j);
        if (sign === 43 || sign === 45) j++;
        if (isDigit(s.charCodeAt(j))) {
          i = j;
          while (i < n && isDigit(s.charCodeAt(i))) i++;
        }
      }
      // duration units and any glued identifier characters (`1h30m`, `2µs`) stay in the number
      while (i < n) {
        const d = s.charCodeAt(i);
        if (isIdentPart(d) || d === 0xb5 /* µ */) i++;
        else break;
      }
      kind = T.NUMBER;
    } else if (isLetter(c)) {
      i++;
      while (i < n && isIdentPart(s.charCodeAt(i))) i++;
      kind = T.IDENT;
    } else if (c === 63 /* ? */) {
      i++;
      kind = T.QMARK;
    } else if (c === 58 /* : */ && this.isNamedMarkerStart(i)) {
      const d = s.charCodeAt(i + 1);
      i += 2;
      if (d === 34) {
        kind = T.ERROR;
        while (i < n) {
          if (s.charCodeAt(i) === 34) {
            if (s.charCodeAt(i + 1) === 34) {
              i += 2;
              continue;
            }
            i++;
            kind = T.NAMED;
            break;
          }
          i++;
        }
      } else {
        while (i < n && isIdentPart(s.charCodeAt(i))) i++;
        kind = T.NAMED;
      }
    } else {
      i++;
      kind = T.PUNCT;
    }

    this.pos = i;
    this.end = i;
    this.kind = kind;
    if (kind !== T.WS && kind !== T.COMMENT) {
      this.prevSigEnd = i;
      this.prevSigKind = kind;
    }
    return true;
  }

  /**
   * `:` starts a named bind marker when followed by an identifier start, unless it is glued to a
   * preceding operand (`{field:value}` in a UDT literal, the SAI operator `col:'x'`): CQL itself
   * lexes `:` and the name separately, so this is the context-free approximation.
   */
  private isNamedMarkerStart(i: number): boolean {
    const d = this.src.charCodeAt(i + 1);
    if (!(isLetter(d) || d === 34)) return false;
    if (this.prevSigEnd === i) {
      const k = this.prevSigKind;
      if (k === T.IDENT || k === T.QIDENT || k === T.STRING || k === T.NUMBER || k === T.UUID || k === T.BLOB) {
        return false;
      }
      if (k === T.PUNCT) {
        const p = this.src.charCodeAt(i - 1);
        if (p === 41 /* ) */ || p === 93 /* ] */ || p === 125 /* } */) return false;
      }
    }
    return true;
  }
}

/**
 * Tokenizes `cql` into an array. With `includeTrivia` (default true) the tokens cover the whole
 * input; without it whitespace and comments are dropped.
 */
export function tokenize(cql: string, includeTrivia = true): Token[] {
  const out: Token[] = [];
  const lx = new CqlLexer(cql);
  while (lx.next()) {
    if (!includeTrivia && (lx.kind === T.WS || lx.kind === T.COMMENT)) continue;
    out.push({ kind: TOKEN_KIND_NAMES[lx.kind], start: lx.start, end: lx.end, text: cql.slice(lx.start, lx.end) });
  }
  return out;
}

/**
 * Normalised value of an identifier token: unquoted -> lower case; quoted -> inner text with `""`
 * turned into `"`. For a NAMED marker token pass `start + 1` to skip the colon.
 */
export function identifierValue(src: string, kind: number, start: number, end: number): string {
  if (kind === T.QIDENT || (kind === T.NAMED && src.charCodeAt(start) === 34)) {
    const inner = src.slice(start + 1, end - 1);
    return inner.indexOf('""') >= 0 ? inner.split('""').join('"') : inner;
  }
  return src.slice(start, end).toLowerCase();
}

/** The inverse of `identifierValue` for a quoted identifier: `My"Id` -> `"My""Id"` (case kept, quotes doubled). */
export function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Case-insensitive comparison of `src[start, end)` with a lower-case ASCII word, without allocating. */
export function wordEquals(src: string, start: number, end: number, lowerWord: string): boolean {
  const len = lowerWord.length;
  if (end - start !== len) return false;
  for (let k = 0; k < len; k++) {
    let c = src.charCodeAt(start + k);
    if (c >= 65 && c <= 90) c += 32;
    if (c !== lowerWord.charCodeAt(k)) return false;
  }
  return true;
}
