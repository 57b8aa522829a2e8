/**
 * `npm run test:tfjs [-- --config name,…] [-- --stock] [-- --files a,b] [-- --json]`
 *
 * Runs the op tests that ship inside @tensorflow/tfjs-core (jasmine specs, `dist/**\/*_test.js`) for every
 * kernel the project registers or replaces, against the wasm backend with the project's kernels, in each
 * configuration of test/tfjs/configurations.ts, each in a fresh process. A spec may fail only if it is in
 * test/tfjs/stock-failures.txt (specs that fail on tfjs-backend-wasm as shipped, for reasons the project
 * does not address); a listed spec that now passes everywhere must leave the list, so the list only shrinks.
 * `--stock` also runs stock wasm and prints its counts beside them (what docs/performance.md reports).
 */
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { CONFIGURATIONS } from './configurations.js';
import { SPEC_FILES, specPath } from './spec-files.js';
import type { WorkerReport } from './worker.js';

const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));
const LIST = here('./stock-failures.txt');

function parseArgs(argv: string[]) {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    configs: value('--config')?.split(',') ?? CONFIGURATIONS.map((c) => c.name),
    files: value('--files')?.split(',') ?? [...SPEC_FILES],
    stock: argv.includes('--stock'),
    json: argv.includes('--json'),
    /** Writes every run's spec outcomes to this file (JSON), e.g. to review a change of the list. */
    report: value('--report'),
  };
}

/** The accepted failures: one spec's full name a line; `#` starts a comment line. */
export function readAcceptedFailures(path = LIST): Set<string> {
  const lines = readFileSync(path, 'utf8').split('\n');
  return new Set(lines.map((l) => l.trimEnd()).filter((l) => l !== '' && !l.startsWith('#')));
}

async function runWorker(
  config: string,
  env: Record<string, string>,
  files: string[],
): Promise<WorkerReport> {
  const args = ['--import', 'tsx', '--import', here('./register.mjs'), here('./worker.ts'), config];
  args.push(JSON.stringify(files.map(specPath)));
  const { stdout } = await promisify(execFile)(process.execPath, args, {
    env: { ...process.env, MTLZOO_NATIVE: '1', ...env },
    maxBuffer: 64 * 2 ** 20,
  });
  return JSON.parse(stdout.trim().split('\n').pop()!) as WorkerReport;
}

/** Runs `jobs` with at most `limit` at a time, results in order. */
async function pooled<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  const lane = async () => {
    while (next < jobs.length) {
      const i = next++;
      results[i] = await jobs[i]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, jobs.length) }, lane));
  return results;
}

function counts(report: WorkerReport): { passed: number; failed: number } {
  const passed = report.specs.filter((s) => s.status === 'passed').length;
  const failed = report.specs.filter((s) => s.status === 'failed').length;
  return { passed, failed };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const accepted = readAcceptedFailures();
  const selected = CONFIGURATIONS.filter((c) => args.configs.includes(c.name));
  const jobs = selected.map((c) => () => runWorker(c.name, c.env, args.files));
  if (args.stock) jobs.push(() => runWorker('stock', {}, args.files));
  const started = performance.now();
  const reports = await pooled(jobs, Math.max(1, Math.min(2, availableParallelism())));
  const problems: string[] = [];
  const failingSomewhere = new Set<string>();
  const ran = new Set<string>();
  for (const report of reports) {
    const { passed, failed } = counts(report);
    console.log(
      `${report.config.padEnd(18)} ${String(passed).padStart(5)} passed ${String(failed).padStart(4)} failed`,
    );
    for (const error of report.errors) problems.push(`${report.config}: ${error}`);
    if (report.config === 'stock') continue;
    for (const spec of report.specs) {
      ran.add(spec.name);
      if (spec.status !== 'failed') continue;
      failingSomewhere.add(spec.name);
      if (!accepted.has(spec.name)) problems.push(`${report.config}: ${spec.name}: ${spec.message ?? ''}`);
    }
  }
  for (const name of accepted)
    if (ran.has(name) && !failingSomewhere.has(name))
      problems.push(`passes now in every configuration; remove it from ${LIST}: ${name}`);
  console.log(
    `${reports.length} runs of ${args.files.length} spec files in ${((performance.now() - started) / 1000).toFixed(0)} s`,
  );
  if (args.report !== undefined) writeFileSync(args.report, JSON.stringify(reports, null, 1));
  if (args.json) console.log(JSON.stringify(reports.map((r) => ({ config: r.config, ...counts(r) }))));
  if (problems.length > 0) {
    console.error(`\n${problems.length} unexpected results:\n${problems.map((p) => `  ${p}`).join('\n')}`);
    process.exitCode = 1;
  }
}

await main();
