/**
 * Where a queued bench's jobs live: a Redis server, named by `redis://[user:password@]HOST:PORT[/DB]`
 * (`rediss://` for TLS). The queue holds only job ids, configs and progress; weights and every other file
 * stay in the run store, a folder every worker reaches.
 */
import { Queue, type RedisOptions } from 'bullmq';
import { Redis } from 'ioredis';
import { MtlzooError } from '../errors.js';
import type { RunJobData, RunJobResult } from './jobs.js';

/** The BullMQ queue every bench and worker of one Redis database shares. */
export const QUEUE_NAME = 'mtlzoo-runs';

export interface QueueAddress {
  /** Connection options for ioredis (through BullMQ). */
  readonly connection: RedisOptions;
  /** The URL as shown in messages and recorded in bench.json: without the password. */
  readonly shown: string;
}

export function parseQueueUrl(text: string, flag = '--queue'): QueueAddress {
  const bad = (why: string) =>
    new MtlzooError('USAGE', `${flag}: expected redis://HOST:PORT[/DB], got "${text}" (${why})`, 2);
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw bad('not a URL');
  }
  if (url.protocol !== 'redis:' && url.protocol !== 'rediss:') throw bad(`protocol ${url.protocol}`);
  if (!url.hostname) throw bad('no host');
  const port = url.port === '' ? 6379 : Number(url.port);
  const dbText = url.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw bad(`database "${dbText}" is not a non-negative integer`);
  if (url.search || url.hash) throw bad('no query or fragment is understood');
  const connection: RedisOptions = {
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port,
    db,
    ...(url.username ? { username: decodeURIComponent(url.username) } : {}),
    ...(url.password ? { password: decodeURIComponent(url.password) } : {}),
    ...(url.protocol === 'rediss:' ? { tls: {} } : {}),
    // Workers wait out a lost connection instead of failing their commands (BullMQ requires it).
    maxRetriesPerRequest: null,
  };
  const shown = `${url.protocol}//${url.hostname}:${port}/${db}`;
  return { connection, shown };
}

/** Fails with one line when Redis cannot be reached (commands that only enqueue or read should not hang). */
export async function checkReachable(address: QueueAddress): Promise<void> {
  const client = new Redis({
    ...address.connection,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
    connectTimeout: 5000,
  });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
  } catch (error) {
    throw new MtlzooError(
      'QUEUE_UNAVAILABLE',
      `cannot reach the queue at ${address.shown}: ${(error as Error).message}; is redis-server running there?`,
    );
  } finally {
    client.disconnect();
  }
}

export type RunQueue = Queue<RunJobData, RunJobResult>;

/** The bench queue at `address` (checked to be reachable first). */
export async function openQueue(address: QueueAddress): Promise<RunQueue> {
  await checkReachable(address);
  return new Queue<RunJobData, RunJobResult>(QUEUE_NAME, { connection: address.connection });
}
