/**
 * One writer per folder (a run, a bench, a zoo entry): an exclusive lock file holding the writer's pid,
 * host, start time and command. It is created whole in one step (a temp file hard-linked to the lock's
 * name, which fails if the name exists), so a reader never sees a half-written lock.
 *
 * A second writer is refused (`LOCKED`, exit 2) with the holder named. A lock left by a process that died
 * on this host (no such pid, or the pid now belongs to a process started after the lock) is taken over
 * with a warning. A pid says nothing on another host, so a lock from there is never guessed dead, unless
 * it was taken with a lease (queue workers, whose folders are shared between machines): its holder touches
 * the file every quarter lease, and another host takes over a lock whose file is older than its lease (the
 * hosts' clocks must agree to well within a lease). Held locks are removed when the process exits, a
 * signal's exit included; a kill -9 leaves the lock, which the next writer takes over.
 */
import { readFileSync, rmSync } from 'node:fs';
import { promises as fs } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { MtlzooError } from '../errors.js';
import type { Logger } from '../plugin/types.js';
import { fileError, tempPathFor } from './write.js';

export const LOCK_FILE = '.mtlzoo.lock';

export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  /** ISO time the lock was taken. */
  readonly started: string;
  readonly command: string;
  /** Milliseconds the holder keeps the file fresh for (it touches it every quarter of them). */
  readonly leaseMs?: number;
}

export interface LockOptions {
  /** Take the lock with a lease of this many milliseconds (see above). */
  readonly leaseMs?: number;
}

const held = new Set<FolderLock>();
let exitHandlerInstalled = false;

function parseHolder(text: string): LockHolder | undefined {
  try {
    const value = JSON.parse(text) as Partial<LockHolder>;
    return typeof value.pid === 'number' &&
      typeof value.host === 'string' &&
      typeof value.started === 'string'
      ? {
          pid: value.pid,
          host: value.host,
          started: value.started,
          command: String(value.command ?? ''),
          ...(typeof value.leaseMs === 'number' ? { leaseMs: value.leaseMs } : {}),
        }
      : undefined;
  } catch {
    return undefined;
  }
}

/** When the process with `pid` started (ms since the epoch), where /proc tells; undefined elsewhere. */
function processStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22 (start time in clock ticks since boot) follows the parenthesised command name.
    const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
    const boot = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1]);
    // Linux reports in USER_HZ, 100 on every mainstream build.
    return Number.isFinite(ticks) && Number.isFinite(boot) ? boot * 1000 + ticks * 10 : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the holder's process still runs (only decidable on this host). */
function holderAlive(holder: LockHolder): boolean {
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const started = processStart(holder.pid);
  // A pid reused by a process started after the lock was taken is not the holder. Clock ticks round.
  return started === undefined || started <= Date.parse(holder.started) + 2000;
}

function describeHolder(holder: LockHolder): string {
  return `pid ${holder.pid} on ${holder.host} since ${holder.started}${holder.command ? ` (${holder.command})` : ''}`;
}

export class FolderLock {
  private heartbeat?: NodeJS.Timeout;

  private constructor(
    readonly file: string,
    private readonly content: string,
  ) {}

  /**
   * Takes the lock of `dir` (which must exist) for `what` (e.g. "run", "bench"), or refuses naming the
   * holder. `log` receives the warning when a stale lock is taken over.
   */
  static async acquire(
    dir: string,
    what: string,
    log: Logger,
    options: LockOptions = {},
  ): Promise<FolderLock> {
    const file = path.join(dir, LOCK_FILE);
    const holder: LockHolder = {
      pid: process.pid,
      host: os.hostname(),
      started: new Date().toISOString(),
      command: ['mtlzoo', ...process.argv.slice(2)].join(' ').slice(0, 200),
      ...(options.leaseMs === undefined ? {} : { leaseMs: options.leaseMs }),
    };
    const content = `${JSON.stringify(holder)}\n`;
    const temp = tempPathFor(file);
    try {
      await fs.writeFile(temp, content, { flag: 'wx' });
      for (let attempt = 0; attempt < 8; attempt++) {
        if (await FolderLock.create(temp, file, content)) {
          const lock = new FolderLock(file, content);
          lock.hold(options.leaseMs);
          return lock;
        }
        await FolderLock.removeIfStale(dir, file, what, log);
      }
    } catch (error) {
      throw await fileError('lock', file, error);
    } finally {
      await fs.rm(temp, { force: true }).catch(() => undefined);
    }
    throw new MtlzooError('LOCKED', `${dir}: could not take the ${what} lock ${file}; try again`, 2);
  }

  /** Creates the lock file whole; false when one exists. */
  private static async create(temp: string, file: string, content: string): Promise<boolean> {
    try {
      await fs.link(temp, file);
      return true;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') return false;
      if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP') throw error;
    }
    // File systems without hard links: exclusive create, then the content.
    try {
      await fs.writeFile(file, content, { flag: 'wx' });
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw error;
    }
  }

  /** Refuses when the lock's holder lives (or may live, on another host); removes a dead holder's lock. */
  private static async removeIfStale(dir: string, file: string, what: string, log: Logger): Promise<void> {
    const text = await fs.readFile(file, 'utf8').catch(() => undefined);
    if (text === undefined) return; // released meanwhile: try again
    const holder = parseHolder(text);
    const leaseAge = async () => Date.now() - ((await fs.stat(file).catch(() => undefined))?.mtimeMs ?? 0);
    const expired = holder?.leaseMs !== undefined && (await leaseAge()) > holder.leaseMs;
    if (holder && holder.host !== os.hostname() && !expired) {
      throw new MtlzooError(
        'LOCKED',
        holder.leaseMs === undefined
          ? `${dir} is in use by another ${what}: locked by ${describeHolder(holder)}; if nothing on ${holder.host} writes it any more, remove ${file}`
          : `${dir} is in use by another ${what}: locked by ${describeHolder(holder)}, lease renewed ${Math.round((await leaseAge()) / 1000)} s ago`,
        2,
      );
    }
    if (holder && holder.host === os.hostname() && holderAlive(holder)) {
      throw new MtlzooError(
        'LOCKED',
        `${dir} is in use by another ${what}: locked by ${describeHolder(holder)}; wait for it to finish or stop it`,
        2,
      );
    }
    // Move the stale lock aside (only one taker can), and make sure it is the one judged stale.
    const aside = tempPathFor(file);
    try {
      await fs.rename(file, aside);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    const moved = await fs.readFile(aside, 'utf8').catch(() => undefined);
    if (moved !== text) {
      // Another taker replaced it in between: put its fresh lock back.
      await fs.link(aside, file).catch(() => undefined);
    } else {
      log.warn(
        !holder
          ? `${dir}: replaced an unreadable lock file ${file}`
          : holder.host === os.hostname()
            ? `${dir}: took over the lock of ${describeHolder(holder)}, which is no longer running`
            : `${dir}: took over the lock of ${describeHolder(holder)}, whose ${holder.leaseMs} ms lease expired`,
      );
    }
    await fs.rm(aside, { force: true });
  }

  private hold(leaseMs?: number): void {
    held.add(this);
    if (leaseMs !== undefined) {
      this.heartbeat = setInterval(() => {
        const now = new Date();
        if (this.owns()) fs.utimes(this.file, now, now).catch(() => undefined);
      }, leaseMs / 4);
      this.heartbeat.unref();
    }
    if (!exitHandlerInstalled) {
      exitHandlerInstalled = true;
      process.on('exit', () => {
        for (const lock of held) lock.release();
      });
    }
  }

  private owns(): boolean {
    try {
      return readFileSync(this.file, 'utf8') === this.content;
    } catch {
      return false;
    }
  }

  /** Removes the lock if it is still this process's. */
  release(): void {
    clearInterval(this.heartbeat);
    held.delete(this);
    if (this.owns()) rmSync(this.file, { force: true });
  }
}
