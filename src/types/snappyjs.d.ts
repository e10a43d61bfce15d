/** Minimal declarations for snappyjs 0.7 (pure JS raw Snappy; the package ships no types). */
declare module 'snappyjs' {
  /** Raw (unframed) Snappy compression. A Buffer in gives a Buffer out. */
  export function compress<T extends Buffer | Uint8Array | ArrayBuffer>(uncompressed: T): T;
  /**
   * Raw Snappy decompression. Throws a plain `Error` on an invalid bitstream or when the
   * preamble's uncompressed length exceeds `maxLength`.
   */
  export function uncompress<T extends Buffer | Uint8Array | ArrayBuffer>(compressed: T, maxLength?: number): T;
}
