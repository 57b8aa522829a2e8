/**
 * A queue worker: takes run jobs from the queue, trains each into its folder in the run store (resuming
 * from the last checkpoint when an earlier attempt stopped), and reports progress through the queue.
 *
 * BullMQ does the scheduling: a job is locked in Redis while a worker holds it and the lock is renewed in
 * the background; a worker killed mid-job stops renewing, and after `lockDuration` another worker's
 * stalled-job check puts the job back to wait. The run folder has its own lock (src/util/lock.ts), so a run
 * is written by one process however the two disagree: a worker given a job whose folder another process
 * still writes (alive on this host, or on another host with a fresh lease) hands the job back delayed
 * instead of training it, and takes it again later (then finished, or its writer gone). A worker that
 * loses Redis keeps training: progress reports are dropped while the connection is down, and ioredis
 * reconnects.
 */
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DelayedError, UnrecoverableError, Worker, type Job } from 'bullmq';
import { MtlzooError } from '../errors.js';
import type { Kernel } from '../kernel/kernel.js';
import type { TrainerHook } from '../engine/hooks.js';
import { InterruptedError } from '../engine/trainer.js';
import { trainOrResume } from '../bench/runs.js';
import type { Logger } from '../plugin/types.js';
import { etaTracker } from '../util/eta.js';
import { writeFileAtomic } from '../util/write.js';
import { QUEUE_NAME, checkReachable, type QueueAddress } from './connection.js';
import type { RunJobData, RunJobProgress, RunJobResult } from './jobs.js';

export interface QueueWorkerOptions {
  readonly address: QueueAddress;
  /** The run store as this machine reaches it. */
  readonly store: string;
  /** Jobs this process trains at the same time (BullMQ's concurrency). */
  readonly concurrency: number;
  /** How long a job's lock lives without renewal: a dead worker's job is taken back after about this. */
  readonly lockMs: number;
  /** The run-folder lock's lease: another host takes a folder over once its lease is this old. */
  readonly leaseMs: number;
  readonly log: Logger;
  createKernel(): Kernel;
  /** Aborting it stops the worker: running jobs write `last` and go back to the queue. */
  readonly signal: AbortSignal;
}

/** How often a worker reports progress at most (Redis writes, one per job). */
const PROGRESS_EVERY_MS = 1000;
/** How long a job whose run folder another process writes waits before it is tried again. */
const BUSY_RETRY_MS = 15_000;
/** How often a job may be recovered from a dead worker before it is failed (a run that kills its worker). */
export const MAX_STALLED = 5;

/**
 * Errors no retry can mend, failed at once with their message: a config that does not validate, and a
 * divergence (a retry resumes the same checkpoint with the same seed and diverges again). Anything else
 * (data a host cannot read, a full disk, a plugin that throws) gets JOB_ATTEMPTS attempts, possibly on
 * other hosts.
 */
const UNRECOVERABLE = new Set([
  'CONFIG_INVALID',
  'PLUGIN_UNKNOWN',
  'PLUGIN_INVALID',
  'USAGE',
  'TRAINING_DIVERGED',
]);

/** Reports step, loss and ETA through the queue; never waits on Redis (a lost connection must not stall training). */
function queueProgressHook(job: Job<RunJobData, RunJobResult>, log: Logger): TrainerHook {
  const eta = etaTracker();
  let lastSent = 0;
  let sending = false;
  let startStep = 0;
  const send = (progress: RunJobProgress, force = false) => {
    const now = performance.now();
    if (sending || (!force && now - lastSent < PROGRESS_EVERY_MS)) return;
    sending = true;
    lastSent = now;
    job
      .updateProgress(progress as unknown as Record<string, unknown>)
      .catch(() => undefined)
      .finally(() => (sending = false));
  };
  const base = () => ({ startStep, host: os.hostname(), pid: process.pid });
  return {
    name: 'queue-progress',
    start({ startStep: from, loaded }) {
      startStep = from;
      if (from > 0) log.info(`job ${job.id}: resuming from the checkpoint at step ${from}`);
      send({ step: from, steps: loaded.config.train.steps, ...base() }, true);
    },
    afterStep(record, { loaded }) {
      const { steps } = loaded.config.train;
      send(
        { step: record.step, steps, loss: record.loss, etaMs: eta(record.step, steps), ...base() },
        record.step === steps,
      );
    },
  };
}

async function writeIfChanged(file: string, text: string): Promise<void> {
  if ((await fs.readFile(file, 'utf8').catch(() => undefined)) !== text) await writeFileAtomic(file, text);
}

function processor(options: QueueWorkerOptions) {
  const store = path.resolve(options.store);
  const { log } = options;
  return async (job: Job<RunJobData, RunJobResult>, token?: string): Promise<RunJobResult> => {
    const { data } = job;
    const runDir = path.join(store, data.run);
    log.info(
      `job ${job.id}: ${data.label}, seed ${data.seed} (attempt ${job.attemptsMade + 1}) into ${runDir}`,
    );
    const handBack = async (delayMs: number) => {
      await job.moveToDelayed(Date.now() + delayMs, token);
      // Tells BullMQ the job was moved, not finished (no attempt is counted).
      throw new DelayedError();
    };
    try {
      // The job's config, resolved where it was enqueued, beside the run folder as a local bench has it.
      const input = `${runDir}.input.yaml`;
      await writeIfChanged(input, data.config);
      const kernel = options.createKernel();
      const loaded = await kernel.loadConfig(input, undefined, {
        refuseExtends: "a queued run's config is resolved and never extends other files",
      });
      if (loaded.hash !== data.hash) {
        throw new MtlzooError(
          'USAGE',
          `${input} hashes to ${loaded.hash} here, the job was enqueued as ${data.hash}: this worker's mtlzoo or plugins differ from the enqueuer's`,
          2,
        );
      }
      const summary = await trainOrResume(kernel, runDir, loaded, {
        hooks: [queueProgressHook(job, log)],
        signal: options.signal,
        lease: options.leaseMs,
        mismatch: 'the run folder holds another config than the job',
      });
      log.info(`job ${job.id}: done (tested at step ${summary.testedStep})`);
      return {
        configHash: summary.configHash,
        steps: summary.steps,
        testedStep: summary.testedStep,
        weightsSha256: summary.weightsSha256,
        host: os.hostname(),
      };
    } catch (error) {
      if (error instanceof DelayedError) throw error;
      if (error instanceof InterruptedError) {
        log.info(`job ${job.id}: stopped with its last checkpoint saved; back to the queue`);
        return handBack(0);
      }
      if (error instanceof MtlzooError && error.code === 'LOCKED') {
        log.info(`job ${job.id}: ${error.message}; trying it again in ${BUSY_RETRY_MS / 1000} s`);
        return handBack(BUSY_RETRY_MS);
      }
      const message = error instanceof Error ? error.message : String(error);
      log.warn(`job ${job.id}: ${message}`);
      if (error instanceof MtlzooError && UNRECOVERABLE.has(error.code))
        throw new UnrecoverableError(message);
      throw error;
    }
  };
}

/** Runs a worker until `signal` aborts; resolves once its jobs have stopped and gone back to the queue. */
export async function runQueueWorker(options: QueueWorkerOptions): Promise<void> {
  const { log, address } = options;
  await checkReachable(address);
  const worker = new Worker<RunJobData, RunJobResult>(QUEUE_NAME, processor(options), {
    connection: address.connection,
    concurrency: options.concurrency,
    lockDuration: options.lockMs,
    stalledInterval: Math.max(1000, Math.round(options.lockMs / 2)),
    maxStalledCount: MAX_STALLED,
    name: `${os.hostname()}:${process.pid}`,
    autorun: false,
  });
  let lastError = '';
  worker.on('error', (error) => {
    const lostLock = /^(?:Missing|could not renew) lock for job ([^ .]+)/.exec(error.message);
    if (lostLock) {
      // Redis was unreachable longer than the lock lives, or this process was held up that long (a machine
      // crowded past its cores): another take of the job finds its run folder locked by this process, hands
      // the job back, and once the run has finished (summary.json) completes it without training it again.
      log.warn(
        `job ${lostLock[1]}: its lock in Redis lapsed (Redis unreachable, or this process held up longer than --lock-seconds); training goes on, the run folder's own lock keeps other workers out, and the queue completes the job once its run has finished`,
      );
      return;
    }
    // ioredis reconnects by itself; say so once per cause, not at every retry.
    if (error.message !== lastError) log.warn(`queue: ${error.message} (reconnecting; training goes on)`);
    lastError = error.message;
  });
  worker.on('failed', (job, error) => {
    if (job && job.attemptsMade >= (job.opts.attempts ?? 1))
      log.warn(`job ${job.id}: failed after ${job.attemptsMade} attempt(s): ${error.message}`);
  });
  log.info(
    `worker ${os.hostname()}:${process.pid} on ${address.shown}, run store ${path.resolve(options.store)}, ${options.concurrency} job(s) at a time`,
  );
  const stopped = new Promise<void>((resolve) => {
    if (options.signal.aborted) resolve();
    options.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  const running = worker.run();
  await stopped;
  // Running jobs see the same signal, save `last` and hand themselves back; then the worker closes.
  await worker.close();
  await running;
}
