// Go strconv look-alikes, so that values are accepted and rejected exactly like upstream's
// envconfig (ParseInt base 0, ParseUint base 10, ParseBool, ParseFloat) and error texts match.

export class GoParseError extends Error {
  constructor(fn: string, input: string, reason: 'invalid syntax' | 'value out of range') {
    super(`strconv.${fn}: parsing ${goQuote(input)}: ${reason}`);
    this.name = 'GoParseError';
  }
}

/** Approximation of Go's strconv.Quote (double-quoted, escaped). */
export function goQuote(s: string): string {
  return JSON.stringify(s);
}

const INT64_MAX = (1n << 63n) - 1n;
const INT64_MIN = -(1n << 63n);

function digitValue(c: string): number {
  const code = c.charCodeAt(0);
  if (code >= 48 && code <= 57) return code - 48;
  if (code >= 97 && code <= 122) return code - 97 + 10;
  if (code >= 65 && code <= 90) return code - 65 + 10;
  return 99;
}

/** Go's underscoreOK: underscores only between digits (a base prefix counts as a digit). */
function underscoreOK(s: string): boolean {
  let saw = '^';
  let i = 0;
  if (s.length >= 1 && (s[0] === '-' || s[0] === '+')) s = s.slice(1);
  let hex = false;
  if (s.length >= 2 && s[0] === '0') {
    const c = s[1]!.toLowerCase();
    if (c === 'b' || c === 'o' || c === 'x') {
      i = 2;
      saw = '0';
      hex = c === 'x';
    }
  }
  for (; i < s.length; i++) {
    const ch = s[i]!;
    if ((ch >= '0' && ch <= '9') || (hex && /[a-fA-F]/.test(ch))) {
      saw = '0';
      continue;
    }
    if (ch === '_') {
      if (saw !== '0') return false;
      saw = '_';
      continue;
    }
    if (saw === '_') return false;
    saw = '!';
  }
  return saw !== '_';
}

/** Magnitude parse with Go base-0 rules; returns null on syntax error. */
function parseUintBase0(s: string): bigint | null {
  if (s === '') return null;
  let base = 10;
  let body = s;
  if (s[0] === '0') {
    const c = s.length >= 3 ? s[1]!.toLowerCase() : '';
    if (c === 'b') [base, body] = [2, s.slice(2)];
    else if (c === 'o') [base, body] = [8, s.slice(2)];
    else if (c === 'x') [base, body] = [16, s.slice(2)];
    else [base, body] = [8, s.slice(1)];
  }
  let n = 0n;
  let underscores = false;
  for (const ch of body) {
    if (ch === '_') {
      underscores = true;
      continue;
    }
    const d = digitValue(ch);
    if (d >= base) return null;
    n = n * BigInt(base) + BigInt(d);
  }
  if (underscores && !underscoreOK(s)) return null;
  return n;
}

/** strconv.ParseInt(s, 0, 64), as a JS number. Throws GoParseError. */
export function goParseInt(s: string): number {
  let body = s;
  let neg = false;
  if (body.length > 0 && (body[0] === '+' || body[0] === '-')) {
    neg = body[0] === '-';
    body = body.slice(1);
  }
  const mag = parseUintBase0(body);
  if (mag === null) throw new GoParseError('ParseInt', s, 'invalid syntax');
  const v = neg ? -mag : mag;
  if (v > INT64_MAX || v < INT64_MIN) throw new GoParseError('ParseInt', s, 'value out of range');
  return Number(v);
}

/** strconv.ParseUint(s, 10, 32). Throws GoParseError. */
export function goParseUint32(s: string): number {
  if (!/^[0-9]+$/.test(s)) throw new GoParseError('ParseUint', s, 'invalid syntax');
  const v = BigInt(s);
  if (v > 0xffffffffn) throw new GoParseError('ParseUint', s, 'value out of range');
  return Number(v);
}

const TRUE = new Set(['1', 't', 'T', 'TRUE', 'true', 'True']);
const FALSE = new Set(['0', 'f', 'F', 'FALSE', 'false', 'False']);

/** strconv.ParseBool. Throws GoParseError. */
export function goParseBool(s: string): boolean {
  if (TRUE.has(s)) return true;
  if (FALSE.has(s)) return false;
  throw new GoParseError('ParseBool', s, 'invalid syntax');
}

const DECIMAL_FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;

/**
 * strconv.ParseFloat(s, 64) for decimal forms and inf/infinity/nan (case-insensitive).
 * Hexadecimal floats ("0x1p-2") are not accepted (rejected as invalid syntax).
 */
export function goParseFloat(s: string): number {
  const lower = s.toLowerCase();
  const unsigned = lower.replace(/^[+-]/, '');
  if (unsigned === 'inf' || unsigned === 'infinity') return lower.startsWith('-') ? -Infinity : Infinity;
  if (lower === 'nan') return NaN;
  if (!DECIMAL_FLOAT.test(s)) throw new GoParseError('ParseFloat', s, 'invalid syntax');
  const v = Number(s);
  if (!Number.isFinite(v)) throw new GoParseError('ParseFloat', s, 'value out of range');
  return v;
}
