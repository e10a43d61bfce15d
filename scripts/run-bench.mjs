#!/usr/bin/env node
// Runs every compiled benchmark, dist/bench/**/*.bench.js, one after the other: each module's
// exported `run()` is awaited. `npm run bench` builds first, then calls this script.
// A run() that returns an array of results (instead of printing) gets them printed as a table.
// BENCH_FILTER=<substring> runs only the files whose path contains it.
import { readdirSync, statSync, existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = new URL('..', import.meta.url).pathname;
const benchDir = join(root, 'dist', 'bench');
const filter = process.env.BENCH_FILTER;

function findBenches(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...findBenches(p));
    else if (name.endsWith('.bench.js')) out.push(p);
  }
  return out.sort();
}

let files = findBenches(benchDir);
if (filter) files = files.filter((f) => f.includes(filter));
if (files.length === 0) {
  console.error(
    `# no benchmark files under ${relative(root, benchDir)}${filter ? ` matching ${filter}` : ''} (run \`npm run build\` first)`,
  );
  process.exit(1);
}

let failed = false;
for (const file of files) {
  console.log(`\n## ${relative(root, file)}`);
  try {
    const mod = await import(pathToFileURL(file).href);
    const run = mod.run ?? mod.default?.run;
    if (typeof run !== 'function') {
      console.error(`# ${relative(root, file)} exports no run() function: skipped`);
      failed = true;
      continue;
    }
    const result = await run();
    if (Array.isArray(result) && result.length > 0) console.table(result);
  } catch (err) {
    console.error(`# ${relative(root, file)} failed:`, err);
    failed = true;
  }
}
process.exit(failed ? 1 : 0);
