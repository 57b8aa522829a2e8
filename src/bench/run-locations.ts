/** Where a bench's run folders are on this machine: where they were written, or beside results.json. */
import { promises as fs } from 'node:fs';
import path from 'node:path';
import { RunDir } from '../engine/run-dir.js';

export async function isFile(file: string): Promise<boolean> {
  return fs.stat(file).then(
    (s) => s.isFile(),
    () => false,
  );
}

async function isFolder(dir: string): Promise<boolean> {
  return fs.stat(dir).then(
    (s) => s.isDirectory(),
    () => false,
  );
}

/** The deepest folder holding every path (by whole segments). */
function commonFolder(paths: readonly string[]): string {
  const split = paths.map((p) => p.split(path.sep));
  const first = split[0] ?? [];
  let n = 0;
  while (n < first.length && split.every((s) => s[n] === first[n])) n += 1;
  return first.slice(0, n).join(path.sep) || path.sep;
}

/**
 * Where each run folder of a bench is, and how to print it. results.json may name them absolutely (as
 * `mtlzoo bench` does) or relative to the bench folder. A bench lays runs out as `<out>/<label>/seed-<n>`,
 * so `<out>` is the common folder of their grandparents; runs are looked for where they were written,
 * then at the same place under the folder holding results.json (a bench folder copied or moved whole).
 */
export function locateRuns(
  benchDir: string,
  recorded: readonly string[],
): { shown: string; candidates: string[] }[] {
  const absolute = recorded.map((d) => path.resolve(benchDir, d));
  const root = commonFolder(absolute.map((d) => path.dirname(path.dirname(d))));
  return absolute.map((dir) => {
    const relative = path.relative(root, dir);
    const shown = (relative || path.basename(dir)).split(path.sep).join('/');
    return { shown, candidates: [dir, path.join(benchDir, relative)] };
  });
}

/** The candidate holding a run (its config), else the first that is a folder at all; undefined: not here. */
export async function findRun(candidates: readonly string[]): Promise<string | undefined> {
  for (const dir of candidates) if (await isFile(new RunDir(dir).path('config'))) return dir;
  for (const dir of candidates) if (await isFolder(dir)) return dir;
  return undefined;
}
