/** Public surface of the CQL native protocol codec. */
export * from './constants';
export * from './errors';
export * from './primitives';
export * from './frame';
export * from './decoder';
export * from './envelope';
export * from './frame-codec';
export * from './messages';
export * from './values';
export * from './crc';
export * from './compression';
export * from './segment';
export * from './framing';
