/**
 * `npm run test:faults [-- --trials N --bench-trials M --seed S]`: the fault-injection suite (suite.ts) on
 * real CLI processes; prints the faults tried, the runs recovered and how many equal an uninterrupted run,
 * and exits 1 unless every run recovered to equal results.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runFaultSuite } from './suite.js';

const { values } = parseArgs({
  options: {
    trials: { type: 'string', default: '12' },
    'bench-trials': { type: 'string', default: '3' },
    seed: { type: 'string', default: String(Date.now() % 100000) },
    keep: { type: 'boolean', default: false },
  },
});
const dir = mkdtempSync(path.join(tmpdir(), 'mtlzoo-faults-'));
const started = Date.now();
const seed = Number(values.seed);
console.log(`fault injection: seed ${seed}, workspace ${dir}`);
const figures = await runFaultSuite({
  dir,
  trials: Number(values.trials),
  benchTrials: Number(values['bench-trials']),
  seed,
  log: (line) => console.log(line),
});
for (const failure of figures.failures) console.log(`FAILED ${failure}`);
const kinds = Object.entries(figures.kinds)
  .map(([kind, n]) => `${kind} ${n}`)
  .join(', ');
console.log(`faults tried: ${figures.faults} (${kinds}); ${figures.hits} stopped a command mid-way`);
console.log(`runs recovered: ${figures.recovered}/${figures.trials}`);
console.log(`results equal: ${figures.equal}/${figures.trials}`);
console.log(`time: ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (!values.keep && figures.failures.length === 0) rmSync(dir, { recursive: true, force: true });
process.exitCode = figures.failures.length === 0 && figures.equal === figures.trials ? 0 : 1;
