/**
 * Queued benches on real processes (issue #14): a redis-server of the test's own, a 2-method × 2-seed recipe
 * enqueued (twice), two workers, one killed with kill -9 in the middle of a run, Redis killed and restarted
 * mid-bench; the collected results equal a local bench's, the killed run resumed from its checkpoint, and
 * nothing was lost or trained twice.
 */
import { strict as assert } from 'node:assert';
import { existsSync, promises as fs, readFileSync } from 'node:fs';
import path from 'node:path';
import { Queue } from 'bullmq';
import type { BenchResults } from '../src/bench/bench.js';
import { Kernel } from '../src/kernel/kernel.js';
import type { JobStatus } from '../src/queue/bench.js';
import { QUEUE_NAME } from '../src/queue/connection.js';
import { remainingWork } from '../src/queue/remaining.js';
import { jobConfigText } from '../src/queue/jobs.js';
import { createMemoryLogger } from '../src/util/logger.js';
import { runCli } from './helpers/cli.js';
import { smallConfig } from './helpers/experiment.js';
import { tempDir, writeFiles } from './helpers/files.js';
import { startMtlzoo, waitFor, type Started } from './helpers/process.js';
import { comparableBenchRows } from './helpers/records.js';
import { redisMissing, TestRedis } from './helpers/redis.js';

const STEPS = 12;
const CHECKPOINT_EVERY = 3;

const RECIPE = `description: a queued bench for tests
config: ./base.yaml
seeds: [0, 1]
baseline: shared
metrics: [triplet-accuracy, mAP@5]
methods:
  - label: modulation
    method: modulation
  - label: shared
    method: shared
`;

interface TrainRecord {
  type: string;
  step: number;
}

function records(file: string): TrainRecord[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as TrainRecord);
}

describe('remaining work of a queued bench', () => {
  const job = (label: string, state: JobStatus['state'], extra: Partial<JobStatus> = {}): JobStatus => ({
    label,
    seed: 0,
    folder: label,
    hash: label,
    id: label,
    state,
    attemptsMade: 0,
    runDir: label,
    steps: 100,
    ...extra,
  });
  const progress = (step: number) => ({ step, steps: 100, startStep: 0, host: 'h', pid: 1 });

  it("times runs left at their row's median measured rate, and names rows without one", () => {
    const left = remainingWork([
      job('a', 'completed', { msPerStep: 10 }),
      job('a', 'completed', { msPerStep: 30 }),
      job('a', 'active', { msPerStep: 14, progress: progress(40) }), // median 14 ms: 60 steps left
      job('a', 'prioritized', { progress: progress(75) }), // 25 left, from a checkpoint
      job('b', 'waiting'), // 100 left, no rate
      job('b', 'failed', { progress: progress(50) }), // left out
      job('c', 'unknown'), // not in the queue: left out
      job('d', 'delayed'), // 100 left, no rate
    ]);
    assert.deepEqual(left, {
      runs: 4,
      steps: 60 + 25 + 100 + 100,
      timedRuns: 2,
      timedMs: (60 + 25) * 14,
      unmeasured: ['b', 'd'],
    });
    assert.deepEqual(remainingWork([job('a', 'completed', { msPerStep: 5 })]), {
      runs: 0,
      steps: 0,
      timedRuns: 0,
      timedMs: 0,
      unmeasured: [],
    });
  });
});

describe('queued job configs', () => {
  it("leave a default cache folder to each worker and keep one a config set, at the enqueuer's path", async () => {
    const workspace = tempDir();
    try {
      const kernel = () => new Kernel({ logger: createMemoryLogger() });
      writeFiles(workspace.dir, {
        'default.yaml': smallConfig({ steps: 2 }),
        'set.yaml': `${smallConfig({ steps: 2 })}output:\n  cacheDir: decoded\n`,
        'store/row/seed-0.input.yaml': '',
      });
      const input = path.join(workspace.dir, 'store', 'row', 'seed-0.input.yaml');
      for (const [file, expected] of [
        // Read back beside the run, a default resolves against the worker's working folder, as before.
        ['default.yaml', path.resolve('.cache/mtlzoo')],
        ['set.yaml', path.join(workspace.dir, 'decoded')],
      ] as const) {
        const loaded = await kernel().loadConfig(path.join(workspace.dir, file));
        await fs.writeFile(input, jobConfigText(loaded));
        const worker = await kernel().loadConfig(input);
        assert.equal(worker.hash, loaded.hash, file);
        assert.equal(path.resolve(worker.config.output.cacheDir), expected, file);
      }
    } finally {
      workspace.cleanup();
    }
  });
});

const missing = redisMissing();

(missing ? describe.skip : describe)(
  `queued bench on Redis${missing ? ` (skipped: ${missing})` : ''}`,
  function () {
    this.timeout(600_000);
    let workspace: ReturnType<typeof tempDir>;
    let redis: TestRedis;
    let entry: string;
    let store: string;
    let local: BenchResults;
    const workers: Started[] = [];

    before(async () => {
      workspace = tempDir();
      entry = path.join(workspace.dir, 'zoo', 'tiny');
      store = path.join(workspace.dir, 'store');
      writeFiles(entry, {
        'recipe.yaml': RECIPE,
        'base.yaml': smallConfig({
          steps: STEPS,
          extra: `  optimizer: { type: adam }\n  evalEvery: 6\n  checkpointEvery: ${CHECKPOINT_EVERY}\n`,
        }),
      });
      await fs.mkdir(path.join(workspace.dir, 'redis'));
      redis = await TestRedis.start(path.join(workspace.dir, 'redis'));
      const { code, stdout, log } = await runCli(
        'bench',
        entry,
        '--out',
        path.join(workspace.dir, 'local'),
        '--json',
      );
      assert.equal(code, 0, log);
      local = JSON.parse(stdout) as BenchResults;
    });
    after(async () => {
      for (const worker of workers) worker.child.kill('SIGKILL');
      await redis?.stop();
      workspace?.cleanup();
    });

    const enqueue = () => runCli('bench', entry, '--queue', redis.url, '--runs', store);

    it('enqueues once per run: a second enqueue adds nothing', async () => {
      const first = await enqueue();
      assert.equal(first.code, 0, first.log);
      assert.match(first.stdout, /^4 runs: 4 enqueued\n/);
      const dir = /bench: (.*)\n/.exec(first.stdout)![1]!;
      const status = await runCli('bench', 'status', dir, '--queue', redis.url);
      assert.match(
        status.stdout,
        new RegExp(`\nleft: 4 runs, ${4 * STEPS} training steps; no row measured yet\n$`),
      );
      const second = await enqueue();
      assert.equal(second.code, 0, second.log);
      assert.match(second.stdout, /^4 runs: 0 enqueued, already in the queue: 4 waiting\n/);
    });

    it("--priority orders a bench's runs: new ones enqueued with it, waiting ones given it", async () => {
      const queue = new Queue(QUEUE_NAME, { connection: { host: '127.0.0.1', port: redis.port } });
      try {
        const states = async () =>
          Promise.all(
            (await queue.getJobs(['wait', 'prioritized'])).map(async (job) => ({
              id: job.id!,
              state: await job.getState(),
              priority: job.priority,
            })),
          );
        const before = await states();
        assert.equal(before.length, 4);
        const given = await runCli('bench', entry, '--queue', redis.url, '--runs', store, '--priority', '7');
        assert.equal(given.code, 0, given.log);
        assert.match(
          given.stdout,
          /, 4 waiting ones given priority 7, already in the queue: 4 prioritized\n/,
        );
        for (const job of await states()) assert.deepEqual([job.state, job.priority], ['prioritized', 7]);

        const more = await runCli(
          'bench',
          entry,
          '--queue',
          redis.url,
          '--runs',
          store,
          '--seeds',
          '7',
          '--priority',
          '3',
          '--out',
          path.join(store, 'seven'),
        );
        assert.equal(more.code, 0, more.log);
        assert.match(more.stdout, /^2 runs: 2 enqueued\n/);
        const added = (await states()).filter((j) => !before.some((b) => b.id === j.id));
        assert.deepEqual(
          added.map((j) => [j.state, j.priority]),
          [
            ['prioritized', 3],
            ['prioritized', 3],
          ],
        );
        // Leave the queue as the next test expects it: the bench's own four runs, without priority.
        for (const { id } of added) await (await queue.getJob(id))!.remove();
        for (const job of await queue.getJobs(['prioritized'])) await job.changePriority({ priority: 0 });
        assert.deepEqual(
          (await states()).map((j) => j.state),
          ['waiting', 'waiting', 'waiting', 'waiting'],
        );

        const zero = await runCli('bench', entry, '--queue', redis.url, '--runs', store, '--priority', '0');
        assert.equal(zero.code, 2);
        assert.match(zero.log, /--priority: expected an integer from 1 to 2097151, got "0"/);
      } finally {
        await queue.close();
      }
    });

    it('a worker killed mid-run and Redis killed mid-bench: the bench completes to the local results', async () => {
      const dir = /bench: (.*)\n/.exec((await enqueue()).stdout)![1]!;
      const workerArgs = ['worker', '--queue', redis.url, '--runs', store, '--lock-seconds', '5'];
      const first = startMtlzoo(workerArgs);
      workers.push(first);
      // Kill it past a checkpoint and before its run ends.
      let killedRun = '';
      await waitFor(() => {
        const run = [...first.stderr().matchAll(/into (.*)\n/g)].at(-1)?.[1];
        const file = run && path.join(run, 'metrics.jsonl');
        if (!file || !existsSync(file)) return false;
        const steps = records(file)
          .filter((r) => r.type === 'train')
          .map((r) => r.step);
        const last = steps.at(-1) ?? 0;
        if (last > CHECKPOINT_EVERY && last < STEPS - 1 && last % CHECKPOINT_EVERY !== 0) {
          first.child.kill('SIGKILL');
          killedRun = run;
          return true;
        }
        return false;
      }, 'the first worker to be past a checkpoint of a run');
      await first.exited;
      const beforeKill = await fs.readFile(path.join(killedRun, 'metrics.jsonl'), 'utf8');

      const second = startMtlzoo(workerArgs);
      workers.push(second);
      await waitFor(
        () => /resuming from the checkpoint at step \d+/.test(second.stderr()),
        'the resumed run',
      );
      const resumedAt = Number(/resuming from the checkpoint at step (\d+)/.exec(second.stderr())![1]);
      assert.ok(resumedAt >= CHECKPOINT_EVERY, `resumed at step ${resumedAt}`);
      assert.match(second.stderr(), new RegExp(`took over the lock of pid ${first.child.pid} `));

      // Redis crashes while the second worker trains, and comes back with its append-only file.
      await waitFor(
        () => second.stderr().split(': done (').length > 1,
        'a run finished by the second worker',
      );
      await redis.stop('SIGKILL');
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await redis.restart();

      let results: BenchResults | undefined;
      await waitFor(
        async () => {
          const status = await runCli('bench', 'status', dir, '--queue', redis.url, '--json');
          assert.equal(status.code, 0, status.log);
          results = (JSON.parse(status.stdout) as { results?: BenchResults }).results;
          return results !== undefined;
        },
        'every run done',
        300_000,
      );
      second.child.kill('SIGTERM');
      assert.equal((await second.exited).code, 0, second.stderr());

      assert.deepEqual(comparableBenchRows(results!), comparableBenchRows(local));
      assert.deepEqual(JSON.parse(await fs.readFile(path.join(dir, 'results.json'), 'utf8')), results);
      // The killed run went on from its checkpoint: the records up to it are the first worker's, untouched.
      const kept = beforeKill
        .split('\n')
        .filter((line) => line && (JSON.parse(line) as TrainRecord).step <= resumedAt);
      const after = (await fs.readFile(path.join(killedRun, 'metrics.jsonl'), 'utf8')).split('\n');
      assert.deepEqual(after.slice(0, kept.length), kept);
      // Every run trained each step once, and no run was trained twice.
      for (const run of results!.rows.flatMap((row) => row.runDirs)) {
        const steps = records(path.join(run, 'metrics.jsonl'))
          .filter((r) => r.type === 'train')
          .map((r) => r.step);
        assert.deepEqual(
          steps,
          Array.from({ length: STEPS }, (_, i) => i + 1),
          run,
        );
      }
      // Only the killed run was taken twice (a run found finished on a later take is not trained again).
      const log = `${first.stderr()}\n${second.stderr()}`;
      const taken = [...log.matchAll(/job (run-\w+): .* \(attempt \d+\) into/g)].map((m) => m[1]!);
      const finishedTakes = [...log.matchAll(/has finished \(\d+ steps/g)].length;
      assert.equal(new Set(taken).size, 4, log);
      assert.equal(taken.length - finishedTakes, 5, log);
      // Enqueued again, the bench adds nothing: its runs are done.
      const again = await enqueue();
      assert.match(again.stdout, /^4 runs: 0 enqueued, already in the queue: 4 completed\n/);
      const queue = new Queue(QUEUE_NAME, { connection: { host: '127.0.0.1', port: redis.port } });
      try {
        const counts = await queue.getJobCounts();
        assert.equal(
          Object.values(counts).reduce((a, b) => a + b, 0),
          4,
          JSON.stringify(counts),
        );
        assert.equal(counts.completed, 4);
      } finally {
        await queue.close();
      }
    });

    it('a run that diverges is marked failed with its message, without retries; --interim collects the rest', async () => {
      const diverging = path.join(workspace.dir, 'zoo', 'diverging');
      writeFiles(diverging, {
        'recipe.yaml':
          'description: diverges at one learning rate\nconfig: ./base.yaml\n' +
          'grid:\n  train.optimizer.lr: [1.0e+30, 0.01]\n' +
          'methods:\n  - label: shared\n    method: shared\n',
        'base.yaml': smallConfig({ steps: 6, extra: '  optimizer: { type: sgd }\n' }),
      });
      const enqueued = await runCli('bench', diverging, '--queue', redis.url, '--runs', store);
      assert.equal(enqueued.code, 0, enqueued.log);
      const dir = /bench: (.*)\n/.exec(enqueued.stdout)![1]!;
      const worker = startMtlzoo(['worker', '--queue', redis.url, '--runs', store]);
      workers.push(worker);
      type Job = { label: string; state: string; failedReason?: string; attemptsMade: number };
      let jobs: Job[] = [];
      await waitFor(async () => {
        const status = await runCli('bench', 'status', dir, '--queue', redis.url, '--json');
        jobs = (JSON.parse(status.stdout) as { status: { jobs: Job[] } }).status.jobs;
        return jobs.every((job) => job.state === 'failed' || job.state === 'completed');
      }, 'both runs to end');
      const [failed, trained] = jobs;
      assert.deepEqual(
        jobs.map((job) => [job.label, job.state]),
        [
          ['shared@lr=1e+30', 'failed'],
          ['shared@lr=0.01', 'completed'],
        ],
      );
      assert.match(
        failed!.failedReason!,
        /^training diverged at step \d+: (loss|the update of the weights) is NaN/,
      );
      assert.equal(failed!.attemptsMade, 1);
      const table = await runCli('bench', 'status', dir, '--queue', redis.url);
      assert.match(table.stdout, /shared@lr=1e\+30 +0 +failed .*training diverged at step/);
      worker.child.kill('SIGTERM');
      assert.equal((await worker.exited).code, 0, worker.stderr());

      // The bench cannot finish; its finished row is collected as interim results, beside the bench's own.
      const refused = await runCli('bench', 'collect', dir, '--queue', redis.url);
      assert.equal(refused.code, 2);
      assert.match(refused.log, /1 of 2 runs are not done \(shared@lr=1e\+30 seed 0: failed\)/);
      assert.equal(existsSync(path.join(dir, 'results.json')), false);
      const interim = await runCli('bench', 'collect', dir, '--queue', redis.url, '--interim');
      assert.equal(interim.code, 0, interim.log);
      const results = JSON.parse(
        await fs.readFile(path.join(dir, 'interim', 'results.json'), 'utf8'),
      ) as BenchResults;
      assert.deepEqual(results.pending, [
        { label: 'shared@lr=1e+30', seeds: [{ seed: 0, state: 'failed' }] },
      ]);
      assert.deepEqual(
        results.rows.map((row) => row.label),
        [trained!.label],
      );
      assert.equal(existsSync(path.join(dir, 'results.json')), false);
      assert.match(
        await fs.readFile(path.join(dir, 'interim', 'results.md'), 'utf8'),
        /\*\*Interim results: 1 of 2 rows, those whose every run is done; not yet: shared@lr=1e\+30 \(seed 0 failed\)\./,
      );
      // The row is what a bench of that learning rate alone reports.
      writeFiles(diverging, {
        'alone.yaml':
          'description: the converging learning rate\nconfig: ./base.yaml\n' +
          'grid:\n  train.optimizer.lr: [0.01]\nmethods:\n  - label: shared\n    method: shared\n',
      });
      const alone = await runCli(
        'bench',
        path.join(diverging, 'alone.yaml'),
        '--out',
        path.join(workspace.dir, 'alone'),
        '--json',
      );
      assert.equal(alone.code, 0, alone.log);
      assert.deepEqual(
        comparableBenchRows(results),
        comparableBenchRows(JSON.parse(alone.stdout) as BenchResults),
      );
      const report = await runCli(
        'report',
        path.join(dir, 'interim'),
        '--out',
        path.join(workspace.dir, 'interim.html'),
      );
      assert.equal(report.code, 0, report.log);
      assert.match(
        await fs.readFile(path.join(workspace.dir, 'interim.html'), 'utf8'),
        /<p class="interim">Interim results: 1 of 2 rows, .*shared@lr=1e\+30 \(seed 0 failed\)/,
      );
    });
  },
);
