/**
 * Fault injection on real CLI processes (issue #10): runs and benches are killed (SIGKILL), signalled
 * (SIGINT, SIGTERM, SIGHUP, twice in a row), starved of disk (ENOSPC injected at a random write of a random
 * file) and left with what a crash mid-write leaves (a torn log record, temp files, unnamed weights, a
 * stale lock) at random points, then recovered the way a user would: `--resume` (or the same command
 * again when nothing was saved yet) until it finishes. Every recovered run must equal an uninterrupted one:
 * the same weights hash and the same metrics records; every recovered bench the same results.
 */
import { strict as assert } from 'node:assert';
import { existsSync, promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Rng } from '../../src/util/random.js';
import { readJsonl } from '../../src/util/jsonl.js';
import { smallConfig } from '../helpers/experiment.js';
import { writeFiles } from '../helpers/files.js';
import { runMtlzoo, startMtlzoo, type Exited } from '../helpers/process.js';
import { comparableBenchRows, comparableRecords } from '../helpers/records.js';

export interface FaultFigures {
  /** Faults injected (a trial may inject several: a fault during recovery, corruption after a kill). */
  faults: number;
  /** Faults that stopped the command they were aimed at (the others came after it had finished). */
  hits: number;
  trials: number;
  recovered: number;
  equal: number;
  /** Per fault kind: how often it was injected. */
  kinds: Record<string, number>;
  failures: string[];
}

const STEPS = 16;
const RUN_CONFIG = smallConfig({
  steps: STEPS,
  extra:
    '  optimizer: { type: adam, lr: 0.003 }\n  evalEvery: 6\n  flip: true\n  probe: { every: 5, tripletsPerTask: 4 }\n',
});
const RECIPE = `description: fault-injection bench
config: ./base.yaml
seeds: [0]
baseline: separate
metrics: [triplet-accuracy]
methods:
  - label: modulation
    method: modulation
  - label: separate
    method: separate
`;

type Kind = 'SIGKILL' | 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'SIGINT×2' | 'ENOSPC';
const KINDS: readonly Kind[] = ['SIGKILL', 'SIGINT', 'SIGTERM', 'SIGHUP', 'SIGINT×2', 'ENOSPC'];
const EXIT_CODES: Record<string, number> = { SIGINT: 130, SIGTERM: 143, SIGHUP: 129, 'SIGINT×2': 130 };
const WRITE_TARGETS = [
  'metrics.jsonl',
  'weights-',
  'model.json',
  'summary.json',
  'environment.json',
  'config.yaml',
];

/** Train steps recorded so far in a run's log (0 when there is none yet). */
async function stepsDone(runDir: string): Promise<number> {
  const { records } = await readJsonl(path.join(runDir, 'metrics.jsonl')).catch(() => ({ records: [] }));
  return Math.max(0, ...records.filter((r) => r.type === 'train').map((r) => r.step as number));
}

/**
 * Runs `args` with one fault of `kind`: a signal once `watched` has trained `step` steps more than it had
 * (step 0: while the process starts; capped at the run's last step) plus up to 300 ms, to land inside a
 * step or a save; ENOSPC at a random write. Checks the exit.
 */
async function withFault(
  args: readonly string[],
  kind: Kind,
  rng: Rng,
  watched: string,
  step: number,
  totalSteps: number,
): Promise<{ exited: Exited; note: string }> {
  if (kind === 'ENOSPC') {
    const target = rng.pick(WRITE_TARGETS);
    const nth = 1 + rng.int(20);
    const exited = await runMtlzoo(args, { env: { MTLZOO_WRITE_FAULT: `ENOSPC@${target}#${nth}` } });
    if (exited.code !== 0) {
      const last = exited.stderr.trimEnd().split('\n').at(-1) ?? '';
      assert.equal(exited.code, 1, exited.stderr);
      assert.match(
        last,
        /^mtlzoo: cannot (write|append to|create folder) \S*.* no space left on the device \(ENOSPC\)$/,
        exited.stderr,
      );
      assert.ok(!/^\s+at /m.test(exited.stderr), `stack trace:\n${exited.stderr}`);
    }
    return { exited, note: `ENOSPC at write ${nth} of ${target}` };
  }
  const target = Math.min((await stepsDone(watched)) + step, totalSteps);
  const started = startMtlzoo(args);
  let running = true;
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  const deliver = async () => {
    if (step === 0) await sleep(rng.int(3000));
    // A resumed run first cuts its log back to its checkpoint, then passes the steps it had again.
    while (running && step > 0 && (await stepsDone(watched)) < target) await sleep(50);
    await sleep(rng.int(300));
    if (!running) return;
    started.child.kill(kind === 'SIGINT×2' ? 'SIGINT' : kind);
    if (kind === 'SIGINT×2') {
      await sleep(20 + rng.int(500));
      if (running) started.child.kill('SIGINT');
    }
  };
  const delivered = deliver();
  const exited = await started.exited;
  running = false;
  await delivered;
  // A signal before the handlers are installed ends the process the default way (exit code null).
  const expected = EXIT_CODES[kind];
  if (exited.code !== 0 && exited.code !== null && expected !== undefined) {
    assert.equal(exited.code, expected, exited.stderr);
    if (kind !== 'SIGINT×2' && /interrupted by/.test(exited.stderr)) {
      assert.match(exited.stderr, /resume with: mtlzoo (train|bench) --resume \S+/);
    }
  }
  return { exited, note: `${kind} ${step === 0 ? 'at start-up' : `after step ${step}`}` };
}

/** Leaves in a run folder what a crash in the middle of writes leaves. */
async function corrupt(runDir: string, rng: Rng): Promise<string[]> {
  const done: string[] = [];
  const metrics = path.join(runDir, 'metrics.jsonl');
  if (existsSync(metrics) && rng.next() < 0.6) {
    await fs.appendFile(metrics, '{"type":"train","step":9');
    done.push('torn record');
  }
  const last = path.join(runDir, 'checkpoints', 'last');
  if (existsSync(last) && rng.next() < 0.6) {
    // A temp of a writer that is gone (pids at and above 2^22 are never given out on Linux).
    await fs.writeFile(path.join(last, `.mtlzoo-${2 ** 22 + rng.int(1000)}-0badc0de.tmp`), '{"format"');
    const hex = Array.from({ length: 16 }, () => rng.int(16).toString(16)).join('');
    await fs.writeFile(path.join(last, `weights-${hex}.bin`), 'half');
    done.push('orphan weights and temp');
  }
  if (existsSync(runDir) && rng.next() < 0.4) {
    await fs.writeFile(
      path.join(runDir, '.mtlzoo.lock'),
      JSON.stringify({
        pid: 2 ** 22 + rng.int(1000),
        host: os.hostname(),
        started: new Date().toISOString(),
        command: 'mtlzoo train',
      }),
    );
    done.push('stale lock');
  }
  return done;
}

export async function runFaultSuite(options: {
  dir: string;
  trials: number;
  benchTrials: number;
  seed: number;
  log: (line: string) => void;
}): Promise<FaultFigures> {
  const { dir, log } = options;
  const figures: FaultFigures = {
    faults: 0,
    hits: 0,
    trials: 0,
    recovered: 0,
    equal: 0,
    kinds: {},
    failures: [],
  };
  const count = (kind: string) => {
    figures.faults += 1;
    figures.kinds[kind] = (figures.kinds[kind] ?? 0) + 1;
  };
  writeFiles(dir, {
    'exp.yaml': RUN_CONFIG,
    'zoo/faults/recipe.yaml': RECIPE,
    'zoo/faults/base.yaml': smallConfig({ steps: 8, extra: '  optimizer: { type: adam }\n  evalEvery: 4\n' }),
  });
  const config = path.join(dir, 'exp.yaml');
  const entry = path.join(dir, 'zoo', 'faults');

  // The uninterrupted references.
  let started = Date.now();
  const reference = await runMtlzoo(['train', '-c', config, '--out', dir, '--name', 'reference']);
  assert.equal(reference.code, 0, reference.stderr);
  const runMs = Date.now() - started;
  const referenceRecords = comparableRecords(
    (await readJsonl(path.join(dir, 'reference', 'metrics.jsonl'))).records,
  );
  const referenceSummary = JSON.parse(
    await fs.readFile(path.join(dir, 'reference', 'summary.json'), 'utf8'),
  ) as {
    weightsSha256: string;
  };
  started = Date.now();
  const benchReference = await runMtlzoo([
    'bench',
    entry,
    '--out',
    path.join(dir, 'bench-reference'),
    '--json',
  ]);
  assert.equal(benchReference.code, 0, benchReference.stderr);
  const benchMs = Date.now() - started;
  const benchRows = comparableBenchRows(JSON.parse(benchReference.stdout));
  log(
    `references: a ${STEPS}-step run in ${(runMs / 1000).toFixed(1)} s, a 2-run bench in ${(benchMs / 1000).toFixed(1)} s`,
  );

  const trial = async (index: number, bench: boolean) => {
    const name = `${bench ? 'bench' : 'run'}-${index}`;
    // A stream per trial: the same seed injects the same faults however the trials interleave.
    const rng = Rng.derive(options.seed, name);
    const target = path.join(dir, name);
    const first = bench
      ? ['bench', entry, '--out', target, '--json']
      : ['train', '-c', config, '--out', dir, '--name', name];
    const resume = bench ? ['bench', '--resume', target, '--json'] : ['train', '--resume', target];
    const notes: string[] = [];
    let exited: Exited | undefined;
    // A fault on the first attempt, and on each recovery attempt with falling odds.
    for (let attempt = 0; attempt < 6; attempt++) {
      const saved = bench
        ? existsSync(path.join(target, 'bench.json'))
        : existsSync(path.join(target, 'config.yaml'));
      const args = attempt === 0 || !saved ? first : resume;
      const faulty = attempt === 0 || (attempt < 4 && rng.next() < 0.4);
      if (faulty) {
        const kind = rng.pick(KINDS);
        count(kind);
        // Faults land while some run trains: in a bench, one of its two runs.
        const watched = bench ? path.join(target, rng.pick(['modulation', 'separate']), 'seed-0') : target;
        const total = bench ? 8 : STEPS;
        const result = await withFault(args, kind, rng, watched, rng.int(total + 1), total);
        exited = result.exited;
        if (exited.code !== 0) figures.hits += 1;
        notes.push(
          `${args[0]}${args === resume ? ' --resume' : ''}: ${result.note} → exit ${String(exited.code)}`,
        );
        if (exited.code !== 0 && !bench) {
          for (const corruption of await corrupt(target, rng)) {
            count(corruption);
            notes.push(corruption);
          }
        }
      } else {
        exited = await runMtlzoo(args);
        notes.push(`${args[0]}${args === resume ? ' --resume' : ''} → exit ${String(exited.code)}`);
      }
      if (exited.code === 0) break;
    }
    figures.trials += 1;
    if (exited?.code !== 0) {
      figures.failures.push(`${name}: not recovered (${notes.join('; ')}):\n${exited?.stderr ?? ''}`);
      return;
    }
    figures.recovered += 1;
    try {
      if (bench) {
        // The last successful command printed the results (a finished bench resumed prints them too).
        assert.deepEqual(comparableBenchRows(JSON.parse(exited.stdout)), benchRows);
      } else {
        const summary = JSON.parse(await fs.readFile(path.join(target, 'summary.json'), 'utf8')) as {
          weightsSha256: string;
        };
        assert.equal(summary.weightsSha256, referenceSummary.weightsSha256, 'weights hash');
        assert.deepEqual(
          comparableRecords((await readJsonl(path.join(target, 'metrics.jsonl'))).records),
          referenceRecords,
        );
      }
      figures.equal += 1;
      log(`${name}: ${notes.join('; ')}: recovered, equal`);
    } catch (error) {
      figures.failures.push(
        `${name}: recovered but not equal (${notes.join('; ')}): ${(error as Error).message}`,
      );
    }
  };

  // Two trials at a time: each process trains on one core.
  const queue = [
    ...Array.from({ length: options.trials }, (_, i) => () => trial(i + 1, false)),
    ...Array.from({ length: options.benchTrials }, (_, i) => () => trial(i + 1, true)),
  ];
  const workers = Array.from({ length: Math.min(2, os.cpus().length) }, async () => {
    for (let job = queue.shift(); job; job = queue.shift()) await job();
  });
  await Promise.all(workers);
  return figures;
}
