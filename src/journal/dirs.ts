// Where the journals of one proxy instance are: `<journal_dir>/journal.zdj` (one process), and with
// proxy_workers > 1 one journal per worker in `<journal_dir>/worker-<n>/journal.zdj` (each process appends to its
// own file; a restarted worker reopens the file of its slot). `zdm-proxy journal` reads and replays them all.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { JOURNAL_FILE } from './journal';

/** journal_dir sub-directory of worker `index` (1..proxy_workers). */
export function workerJournalDirName(index: number): string {
  return `worker-${index}`;
}

/** The directories holding a journal file under journal_dir: itself first, then worker-1, worker-2, ... */
export function journalDirs(dir: string): string[] {
  const out: string[] = [];
  if (existsSync(join(dir, JOURNAL_FILE))) out.push(dir);
  let names: string[] = [];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  const workers = names
    .flatMap((n) => {
      const m = /^worker-(\d+)$/.exec(n);
      return m ? [{ n, i: Number(m[1]) }] : [];
    })
    .sort((a, b) => a.i - b.i);
  for (const w of workers) if (existsSync(join(dir, w.n, JOURNAL_FILE))) out.push(join(dir, w.n));
  return out;
}
