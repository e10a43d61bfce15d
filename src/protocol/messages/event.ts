/**
 * EVENT (spec section 4.2.6): a [string] event type, then
 *   TOPOLOGY_CHANGE: <change [string]><address [inet]>  (NEW_NODE, REMOVED_NODE; MOVED_NODE in v3/v4)
 *   STATUS_CHANGE:   <change [string]><address [inet]>  (UP, DOWN)
 *   SCHEMA_CHANGE:   <change_type [string]><target [string]><options>, where options are
 *       KEYSPACE:            <keyspace [string]>
 *       TABLE, TYPE:         <keyspace [string]><name [string]>
 *       FUNCTION, AGGREGATE: <keyspace [string]><name [string]><arg types [string list]>  (v4+)
 *     v2 used <change [string]><keyspace [string]><table [string]> instead (table empty for a
 *     keyspace change); only KEYSPACE and TABLE targets exist there.
 * The same schema change body follows the kind of a Schema_change RESULT (section 4.2.5.5).
 */
import { Opcode, ProtocolVersion } from '../constants';
import { ProtocolError } from '../errors';
import type { Inet, Reader, Writer } from '../primitives';

export type SchemaChangeType = 'CREATED' | 'UPDATED' | 'DROPPED';
export type SchemaChangeTarget = 'KEYSPACE' | 'TABLE' | 'TYPE' | 'FUNCTION' | 'AGGREGATE';

export type SchemaChange =
  | { changeType: SchemaChangeType; target: 'KEYSPACE'; keyspace: string }
  | { changeType: SchemaChangeType; target: 'TABLE' | 'TYPE'; keyspace: string; name: string }
  | { changeType: SchemaChangeType; target: 'FUNCTION' | 'AGGREGATE'; keyspace: string; name: string; argTypes: string[] };

export type TopologyChangeType = 'NEW_NODE' | 'REMOVED_NODE' | 'MOVED_NODE';
export type StatusChangeType = 'UP' | 'DOWN';

export interface TopologyChangeEvent {
  opcode: Opcode.EVENT;
  type: 'TOPOLOGY_CHANGE';
  change: TopologyChangeType;
  address: Inet;
}
export interface StatusChangeEvent {
  opcode: Opcode.EVENT;
  type: 'STATUS_CHANGE';
  change: StatusChangeType;
  address: Inet;
}
export interface SchemaChangeEvent {
  opcode: Opcode.EVENT;
  type: 'SCHEMA_CHANGE';
  schemaChange: SchemaChange;
}
export type EventMessage = TopologyChangeEvent | StatusChangeEvent | SchemaChangeEvent;
export type EventType = EventMessage['type'];

const CHANGE_TYPES: ReadonlySet<string> = new Set(['CREATED', 'UPDATED', 'DROPPED']);
const TOPOLOGY_CHANGES: ReadonlySet<string> = new Set(['NEW_NODE', 'REMOVED_NODE', 'MOVED_NODE']);
const STATUS_CHANGES: ReadonlySet<string> = new Set(['UP', 'DOWN']);

export function encodeSchemaChange(c: SchemaChange, version: ProtocolVersion, w: Writer): void {
  w.writeString(c.changeType);
  if (version === ProtocolVersion.V2) {
    if (c.target !== 'KEYSPACE' && c.target !== 'TABLE') {
      throw new RangeError(`protocol v2 has no ${c.target} schema change`);
    }
    w.writeString(c.keyspace).writeString(c.target === 'TABLE' ? c.name : '');
    return;
  }
  w.writeString(c.target).writeString(c.keyspace);
  if (c.target === 'KEYSPACE') return;
  w.writeString(c.name);
  if (c.target === 'FUNCTION' || c.target === 'AGGREGATE') w.writeStringList(c.argTypes);
}

export function decodeSchemaChange(r: Reader, version: ProtocolVersion): SchemaChange {
  const changeType = r.readString('schema change type');
  if (!CHANGE_TYPES.has(changeType))
    throw new ProtocolError('invalid-value', `unknown schema change type ${JSON.stringify(changeType)}`);
  const ct = changeType as SchemaChangeType;
  if (version === ProtocolVersion.V2) {
    const keyspace = r.readString('schema change keyspace');
    const table = r.readString('schema change table');
    return table === ''
      ? { changeType: ct, target: 'KEYSPACE', keyspace }
      : { changeType: ct, target: 'TABLE', keyspace, name: table };
  }
  const target = r.readString('schema change target');
  const keyspace = r.readString('schema change keyspace');
  switch (target) {
    case 'KEYSPACE':
      return { changeType: ct, target, keyspace };
    case 'TABLE':
    case 'TYPE':
      return { changeType: ct, target, keyspace, name: r.readString('schema change name') };
    case 'FUNCTION':
    case 'AGGREGATE': {
      const name = r.readString('schema change name');
      return { changeType: ct, target, keyspace, name, argTypes: r.readStringList('schema change argument types') };
    }
    default:
      throw new ProtocolError('invalid-value', `unknown schema change target ${JSON.stringify(target)}`);
  }
}

export function encodeEvent(msg: EventMessage, version: ProtocolVersion, w: Writer): void {
  w.writeString(msg.type);
  if (msg.type === 'SCHEMA_CHANGE') {
    encodeSchemaChange(msg.schemaChange, version, w);
  } else {
    w.writeString(msg.change).writeInet(msg.address);
  }
}

export function decodeEvent(r: Reader, version: ProtocolVersion): EventMessage {
  const type = r.readString('event type');
  switch (type) {
    case 'TOPOLOGY_CHANGE': {
      const change = r.readString('topology change type');
      if (!TOPOLOGY_CHANGES.has(change))
        throw new ProtocolError('invalid-value', `unknown topology change ${JSON.stringify(change)}`);
      return { opcode: Opcode.EVENT, type, change: change as TopologyChangeType, address: r.readInet('topology change address') };
    }
    case 'STATUS_CHANGE': {
      const change = r.readString('status change type');
      if (!STATUS_CHANGES.has(change))
        throw new ProtocolError('invalid-value', `unknown status change ${JSON.stringify(change)}`);
      return { opcode: Opcode.EVENT, type, change: change as StatusChangeType, address: r.readInet('status change address') };
    }
    case 'SCHEMA_CHANGE':
      return { opcode: Opcode.EVENT, type, schemaChange: decodeSchemaChange(r, version) };
    default:
      throw new ProtocolError('invalid-value', `unknown event type ${JSON.stringify(type)}`);
  }
}
