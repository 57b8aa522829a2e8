/** What `--profile` prints in the benches: where one step's kernel time went. */
import type * as tf from '../src/tf.js';

/**
 * The kernel calls of one profiled step and the twelve kernels that took longest, to stderr; with
 * `byShape`, kernels are told apart by their input shapes too (which call of a kernel is the slow one).
 */
export function printProfile(info: Awaited<ReturnType<typeof tf.profile>>, byShape = false): void {
  const byKernel = new Map<string, { calls: number; ms: number }>();
  for (const k of info.kernels) {
    const key = byShape
      ? `${k.name} ${k.inputShapes.map((s) => `[${s?.join(',') ?? ''}]`).join(' ')}`
      : k.name;
    const entry = byKernel.get(key) ?? { calls: 0, ms: 0 };
    entry.calls++;
    entry.ms += k.kernelTimeMs as number;
    byKernel.set(key, entry);
  }
  const total = info.kernels.reduce((sum, k) => sum + (k.kernelTimeMs as number), 0);
  const top = [...byKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 12);
  console.error(`  ${info.kernels.length} kernel calls, ${total.toFixed(0)} ms in kernels`);
  for (const [name, { calls, ms }] of top)
    console.error(`  ${name.padEnd(28)} ${String(calls).padStart(4)}× ${ms.toFixed(1).padStart(8)} ms`);
}
