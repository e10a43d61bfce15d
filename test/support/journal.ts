// Write journal records for tests: a journal record's meta, and a logger that says nothing.
import type { ClusterName } from '../../src/cluster';
import { Opcode } from '../../src/protocol/constants';
import type { JournalMeta } from '../../src/protocol/journal-format';

/** Meta of the journal record of one-sided write `INSERT <i>` (timestamp 1000 + i); missed by ORIGIN for odd i, TARGET for even i unless `failedOn` says. */
export const journalMeta = (i: number, failedOn: ClusterName = i % 2 ? 'ORIGIN' : 'TARGET'): JournalMeta => ({
  v: 1,
  time: new Date(0).toISOString(),
  failedOn,
  error: 'e',
  version: 4,
  opcode: Opcode.QUERY,
  keyspace: 'ks',
  consistency: 'ONE',
  timestamp: String(1000 + i),
  timestampSource: 'proxy',
  statement: `INSERT ${i}`,
});

/** A journal logger that says nothing. */
export const quietLog = { info: () => undefined, warn: () => undefined, error: () => undefined };
