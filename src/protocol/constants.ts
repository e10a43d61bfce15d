/** Protocol constants shared by every codec file (native_protocol_v3/v4/v5.spec, dse_protocol_v1/v2.spec). */

export enum ProtocolVersion {
  V2 = 0x02,
  V3 = 0x03,
  V4 = 0x04,
  V5 = 0x05,
  DSE_V1 = 0x41,
  DSE_V2 = 0x42,
}

export const ALL_PROTOCOL_VERSIONS: readonly ProtocolVersion[] = [
  ProtocolVersion.V2,
  ProtocolVersion.V3,
  ProtocolVersion.V4,
  ProtocolVersion.V5,
  ProtocolVersion.DSE_V1,
  ProtocolVersion.DSE_V2,
];

export function isSupportedVersion(v: number): v is ProtocolVersion {
  return v === 2 || v === 3 || v === 4 || v === 5 || v === 0x41 || v === 0x42;
}

export function versionName(v: number): string {
  switch (v) {
    case ProtocolVersion.DSE_V1:
      return 'DSE_V1';
    case ProtocolVersion.DSE_V2:
      return 'DSE_V2';
    default:
      return `v${v}`;
  }
}

/** Does this version have the feature? DSE_V1 builds on v4, DSE_V2 on v5 (without v5 segment framing). */
export function atLeastV4(v: ProtocolVersion): boolean {
  return v >= ProtocolVersion.V4;
}
export function atLeastV5(v: ProtocolVersion): boolean {
  return v === ProtocolVersion.V5 || v === ProtocolVersion.DSE_V2;
}
/** True for protocol versions that wrap frames in v5 segments after the handshake (v5 only, not DSE_V2). */
export function usesSegments(v: ProtocolVersion): boolean {
  return v === ProtocolVersion.V5;
}
/** v2 has an 8-byte header with a 1-byte stream id; later versions a 9-byte header with a 2-byte stream id. */
export function headerLength(v: ProtocolVersion): number {
  return v === ProtocolVersion.V2 ? 8 : 9;
}
/** Query/batch flags are a [byte] in v2-v4 and an [int] in v5, DSE_V1 and DSE_V2. */
export function hasIntQueryFlags(v: ProtocolVersion): boolean {
  return v >= ProtocolVersion.V5;
}

export enum Opcode {
  ERROR = 0x00,
  STARTUP = 0x01,
  READY = 0x02,
  AUTHENTICATE = 0x03,
  OPTIONS = 0x05,
  SUPPORTED = 0x06,
  QUERY = 0x07,
  RESULT = 0x08,
  PREPARE = 0x09,
  EXECUTE = 0x0a,
  REGISTER = 0x0b,
  EVENT = 0x0c,
  BATCH = 0x0d,
  AUTH_CHALLENGE = 0x0e,
  AUTH_RESPONSE = 0x0f,
  AUTH_SUCCESS = 0x10,
  /** DSE only (DSE_V1/DSE_V2): cancel a continuous paging session, etc. Forwarded as a raw frame. */
  REVISE_REQUEST = 0xff,
}

export function isKnownOpcode(op: number): op is Opcode {
  return (op >= 0x00 && op <= 0x10 && op !== 0x04) || op === 0xff;
}

export function opcodeName(op: number): string {
  return isKnownOpcode(op) ? Opcode[op] : `0x${op.toString(16).padStart(2, '0')}`;
}

/** Frame header flags. */
export const HeaderFlag = {
  COMPRESSION: 0x01,
  TRACING: 0x02,
  CUSTOM_PAYLOAD: 0x04,
  WARNING: 0x08,
  USE_BETA: 0x10,
} as const;

/** Query parameter flags (QUERY, EXECUTE); [byte] before v5, [int] from v5. */
export const QueryFlag = {
  VALUES: 0x01,
  SKIP_METADATA: 0x02,
  PAGE_SIZE: 0x04,
  PAGING_STATE: 0x08,
  SERIAL_CONSISTENCY: 0x10,
  DEFAULT_TIMESTAMP: 0x20,
  NAMES_FOR_VALUES: 0x40,
  /** v5 only */
  WITH_KEYSPACE: 0x80,
  /** v5 only */
  NOW_IN_SECONDS: 0x100,
  /** DSE_V1/DSE_V2: page size in bytes */
  DSE_PAGE_SIZE_BYTES: 0x40000000,
  /** DSE_V1/DSE_V2: continuous paging options follow */
  DSE_CONTINUOUS_PAGING: 0x80000000,
} as const;

export enum Consistency {
  ANY = 0x0000,
  ONE = 0x0001,
  TWO = 0x0002,
  THREE = 0x0003,
  QUORUM = 0x0004,
  ALL = 0x0005,
  LOCAL_QUORUM = 0x0006,
  EACH_QUORUM = 0x0007,
  SERIAL = 0x0008,
  LOCAL_SERIAL = 0x0009,
  LOCAL_ONE = 0x000a,
}

export enum ErrorCode {
  SERVER_ERROR = 0x0000,
  PROTOCOL_ERROR = 0x000a,
  AUTH_ERROR = 0x0100,
  UNAVAILABLE = 0x1000,
  OVERLOADED = 0x1001,
  IS_BOOTSTRAPPING = 0x1002,
  TRUNCATE_ERROR = 0x1003,
  WRITE_TIMEOUT = 0x1100,
  READ_TIMEOUT = 0x1200,
  READ_FAILURE = 0x1300,
  FUNCTION_FAILURE = 0x1400,
  WRITE_FAILURE = 0x1500,
  CDC_WRITE_FAILURE = 0x1600,
  CAS_WRITE_UNKNOWN = 0x1700,
  SYNTAX_ERROR = 0x2000,
  UNAUTHORIZED = 0x2100,
  INVALID = 0x2200,
  CONFIG_ERROR = 0x2300,
  ALREADY_EXISTS = 0x2400,
  UNPREPARED = 0x2500,
}

export enum ResultKind {
  VOID = 0x0001,
  ROWS = 0x0002,
  SET_KEYSPACE = 0x0003,
  PREPARED = 0x0004,
  SCHEMA_CHANGE = 0x0005,
}

export enum BatchType {
  LOGGED = 0,
  UNLOGGED = 1,
  COUNTER = 2,
}

/** Maximum v5 segment payload: 128 KiB - 1. */
export const MAX_SEGMENT_PAYLOAD = 128 * 1024 - 1;
/** Cassandra's native_transport_max_frame_size default: 256 MiB. */
export const DEFAULT_MAX_BODY_LENGTH = 256 * 1024 * 1024;
