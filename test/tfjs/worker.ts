/**
 * One configuration of `npm run test:tfjs`: boots jasmine, registers tfjs's wasm test environment, sets the
 * backend up as the configuration says, runs the shipped spec files named on the command line and prints
 * one JSON line: every spec's full name and status, and the first line of each failure.
 * Run through test/tfjs/run.ts, which loads it with test/tfjs/register.mjs.
 */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';

export interface SpecOutcome {
  name: string;
  status: 'passed' | 'failed' | 'excluded' | 'pending';
  /** First line of the first failed expectation. */
  message?: string;
}

export interface WorkerReport {
  config: string;
  specs: SpecOutcome[];
  /** Errors outside specs (a file that fails to load, an afterAll that throws). */
  errors: string[];
}

interface JasmineResult {
  fullName: string;
  status: string;
  failedExpectations: { message: string }[];
}

interface JasmineEnv {
  configure(options: Record<string, unknown>): void;
  addReporter(reporter: Record<string, (result: JasmineResult) => void>): void;
  execute(): Promise<unknown>;
}

const require = createRequire(import.meta.url);
const [config = 'stock', filesJson = '[]'] = process.argv.slice(2);
const files = JSON.parse(filesJson) as string[];

const jasmine = (require('jasmine-core') as { boot(): { getEnv(): JasmineEnv } }).boot();
const env = jasmine.getEnv();
env.configure({ random: false, stopOnSpecFailure: false });

const { setTestEnvs } = await import('@tensorflow/tfjs-core/dist/jasmine_util.js');
setTestEnvs([{ name: 'wasm', backendName: 'wasm', isDataSync: true }]);
// The specs call chained ops (`a.sum()`), which tfjs-core's own test set-up registers.
await import('@tensorflow/tfjs-core/dist/public/chained_ops/register_all_chained_ops.js');
await import('@tensorflow/tfjs-core/dist/register_all_gradients.js');
await import('@tensorflow/tfjs-backend-wasm');
if (config !== 'stock') {
  const { configureKernels } = await import('./configurations.js');
  configureKernels(config);
}
for (const file of files) await import(pathToFileURL(file).href);

const report: WorkerReport = { config, specs: [], errors: [] };
const firstLine = (message: string) => message.split('\n')[0] ?? '';
env.addReporter({
  specDone(result) {
    const failure = result.failedExpectations[0];
    report.specs.push({
      name: result.fullName,
      status: result.status as SpecOutcome['status'],
      ...(failure ? { message: firstLine(failure.message) } : {}),
    });
  },
  suiteDone(result) {
    for (const failure of result.failedExpectations)
      report.errors.push(`${result.fullName}: ${firstLine(failure.message)}`);
  },
  jasmineDone(result) {
    for (const failure of result.failedExpectations) report.errors.push(firstLine(failure.message));
  },
});
await env.execute();
console.log(JSON.stringify(report));
