/**
 * Golden bytes spelled readably, independent of the codec under test:
 *
 *   b().short(0x0001).string('CQL_VERSION').string('3.0.0').build()
 *
 * Every method appends big-endian bytes with plain Buffer operations, following the spec's
 * notations ([byte], [short], [int], [long], [string], [long string], [bytes], [value],
 * [short bytes], [string list], [string map], [bytes map], [uuid]).
 */
export class Bytes {
  private readonly parts: number[] = [];

  /** Raw bytes: numbers, arrays or a hex string ("0a 0b", spaces ignored). */
  raw(...items: (number | readonly number[] | Uint8Array | string)[]): this {
    for (const it of items) {
      if (typeof it === 'number') this.parts.push(it & 0xff);
      else if (typeof it === 'string') {
        const hex = it.replace(/\s+/g, '');
        if (hex.length % 2 !== 0 || /[^0-9a-fA-F]/.test(hex)) throw new Error(`bad hex: ${it}`);
        for (let i = 0; i < hex.length; i += 2) this.parts.push(parseInt(hex.slice(i, i + 2), 16));
      } else for (const x of it) this.parts.push(x & 0xff);
    }
    return this;
  }
  byte(v: number): this {
    return this.raw(v);
  }
  short(v: number): this {
    return this.raw((v >> 8) & 0xff, v & 0xff);
  }
  int(v: number): this {
    const u = v >>> 0;
    return this.raw(u >>> 24, (u >>> 16) & 0xff, (u >>> 8) & 0xff, u & 0xff);
  }
  long(v: bigint): this {
    const u = BigInt.asUintN(64, v);
    for (let shift = 56n; shift >= 0n; shift -= 8n) this.parts.push(Number((u >> shift) & 0xffn));
    return this;
  }
  private utf8(s: string): number[] {
    return [...new TextEncoder().encode(s)];
  }
  string(s: string): this {
    const u = this.utf8(s);
    return this.short(u.length).raw(u);
  }
  longString(s: string): this {
    const u = this.utf8(s);
    return this.int(u.length).raw(u);
  }
  /** [bytes] / [value]: null = -1, 'unset' = -2. */
  bytes(v: readonly number[] | Uint8Array | string | null | 'unset'): this {
    if (v === null) return this.int(-1);
    if (v === 'unset') return this.int(-2);
    const content = new Bytes().raw(v).build();
    return this.int(content.length).raw(content);
  }
  value(v: readonly number[] | Uint8Array | string | null | 'unset'): this {
    return this.bytes(v);
  }
  shortBytes(v: readonly number[] | Uint8Array | string): this {
    const content = new Bytes().raw(v).build();
    return this.short(content.length).raw(content);
  }
  stringList(l: readonly string[]): this {
    this.short(l.length);
    for (const s of l) this.string(s);
    return this;
  }
  stringMap(entries: readonly (readonly [string, string])[]): this {
    this.short(entries.length);
    for (const [k, v] of entries) this.string(k).string(v);
    return this;
  }
  bytesMap(entries: readonly (readonly [string, readonly number[] | string | null])[]): this {
    this.short(entries.length);
    for (const [k, v] of entries) this.string(k).bytes(v);
    return this;
  }
  uuid(hex: string): this {
    const before = this.parts.length;
    this.raw(hex.replace(/-/g, ''));
    if (this.parts.length - before !== 16) throw new Error(`uuid must be 16 bytes: ${hex}`);
    return this;
  }
  /** Append another builder's bytes. */
  concat(other: Bytes | Uint8Array): this {
    return this.raw(other instanceof Bytes ? other.build() : other);
  }
  get length(): number {
    return this.parts.length;
  }
  build(): Buffer {
    return Buffer.from(this.parts);
  }
}

export function b(): Bytes {
  return new Bytes();
}

/** Hex with spaces between bytes, for readable assertion messages. */
export function hex(buf: Uint8Array): string {
  return [...buf].map((x) => x.toString(16).padStart(2, '0')).join(' ');
}
