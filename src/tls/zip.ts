/**
 * A small reader of zip archives (stored and deflated entries, no zip64, no encryption): enough for Astra
 * secure connect bundles. Entries are located through the central directory; data is inflated with node:zlib.
 */
import { crc32, inflateRawSync } from 'node:zlib';

export class ZipError extends Error {
  override readonly name = 'ZipError';
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const MAX_ENTRY = 16 * 1024 * 1024;

/** name -> content of every file entry; an entry that cannot be read is reported through `skipped`. */
export function readZip(buf: Buffer, skipped?: (name: string, why: string) => void): Map<string, Buffer> {
  let eocd = -1;
  for (let i = buf.length - 22; i >= Math.max(0, buf.length - 22 - 0xffff); i--) {
    if (buf.readUInt32LE(i) === EOCD) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new ZipError('not a zip file (no end of central directory record)');
  const count = buf.readUInt16LE(eocd + 10);
  let at = buf.readUInt32LE(eocd + 16);
  const out = new Map<string, Buffer>();
  for (let n = 0; n < count; n++) {
    if (at + 46 > buf.length || buf.readUInt32LE(at) !== CENTRAL) throw new ZipError('corrupt central directory');
    const method = buf.readUInt16LE(at + 10);
    const crc = buf.readUInt32LE(at + 16);
    const csize = buf.readUInt32LE(at + 20);
    const size = buf.readUInt32LE(at + 24);
    const nameLen = buf.readUInt16LE(at + 28);
    const extraLen = buf.readUInt16LE(at + 30);
    const commentLen = buf.readUInt16LE(at + 32);
    const local = buf.readUInt32LE(at + 42);
    const name = buf.toString('utf8', at + 46, at + 46 + nameLen);
    at += 46 + nameLen + extraLen + commentLen;
    if (name.endsWith('/')) continue;
    try {
      if (local + 30 > buf.length || buf.readUInt32LE(local) !== LOCAL) throw new ZipError('bad local header');
      const start = local + 30 + buf.readUInt16LE(local + 26) + buf.readUInt16LE(local + 28);
      if (start + csize > buf.length) throw new ZipError('truncated entry');
      if (size > MAX_ENTRY) throw new ZipError(`entry larger than ${MAX_ENTRY} bytes`);
      const raw = buf.subarray(start, start + csize);
      let data: Buffer;
      if (method === 0) data = Buffer.from(raw);
      else if (method === 8) data = inflateRawSync(raw, { maxOutputLength: MAX_ENTRY });
      else throw new ZipError(`unsupported compression method ${method}`);
      if (data.length !== size || crc32(data) !== crc) throw new ZipError('size or CRC mismatch');
      out.set(name, data);
    } catch (e) {
      skipped?.(name, (e as Error).message);
    }
  }
  return out;
}
