/**
 * STARTUP (0x01, request; spec section 4.1.1): a [string map] of options, e.g. CQL_VERSION
 * (mandatory), COMPRESSION, DRIVER_NAME, DRIVER_VERSION, THROW_ON_OVERLOAD (v5),
 * CLIENT_ID / APPLICATION_NAME / APPLICATION_VERSION (DSE). Never compressed.
 */
import { Opcode, type ProtocolVersion } from '../constants';
import type { Reader, StringMap, Writer } from '../primitives';

export const StartupOption = {
  CQL_VERSION: 'CQL_VERSION',
  COMPRESSION: 'COMPRESSION',
  DRIVER_NAME: 'DRIVER_NAME',
  DRIVER_VERSION: 'DRIVER_VERSION',
  THROW_ON_OVERLOAD: 'THROW_ON_OVERLOAD',
  NO_COMPACT: 'NO_COMPACT',
  CLIENT_ID: 'CLIENT_ID',
  APPLICATION_NAME: 'APPLICATION_NAME',
  APPLICATION_VERSION: 'APPLICATION_VERSION',
} as const;

export interface Startup {
  opcode: Opcode.STARTUP;
  options: StringMap;
}

export function encodeStartup(msg: Startup, _version: ProtocolVersion, w: Writer): void {
  w.writeStringMap(msg.options);
}

export function decodeStartup(r: Reader, _version: ProtocolVersion): Startup {
  return { opcode: Opcode.STARTUP, options: r.readStringMap('STARTUP options') };
}

/**
 * The COMPRESSION option of a STARTUP, found the way Cassandra finds it: option keys are upper-cased
 * when the message is decoded (so `compression` counts), and the value is matched case-insensitively
 * by the caller (`getCompressor`). Undefined when absent.
 */
export function startupCompression(options: StringMap): string | undefined {
  const exact = options[StartupOption.COMPRESSION];
  if (exact !== undefined) return exact;
  for (const k of Object.keys(options)) if (k.toUpperCase() === StartupOption.COMPRESSION) return options[k];
  return undefined;
}
