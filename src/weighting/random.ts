/** Draws the strategies make from a step's seeded generator. */
import type { Rng } from '../util/random.js';

/** `items` in a uniformly random order (Fisher-Yates). */
export function shuffled<T>(items: readonly T[], random: Rng): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}
