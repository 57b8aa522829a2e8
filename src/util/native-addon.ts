/**
 * Loads an addon that the native build (native/install.js on `npm install`, or `npm run build:native`)
 * puts into native/build/Release/, from the sources (src/<folder>/) and from the compiled package
 * (dist/src/<folder>/) alike. MTLZOO_NATIVE=0 turns every native addon off.
 */
import { createRequire } from 'node:module';

/**
 * The addon, or why it is not usable. `entryPoints` are the functions the caller needs: an addon built from
 * older sources (a build folder left from before an update) lacks some, and is refused with a rebuild hint
 * instead of failing later with "… is not a function".
 */
export function loadNativeAddon<T>(
  file: string,
  entryPoints: readonly (keyof T & string)[],
): { addon: T } | { reason: string } {
  if (process.env['MTLZOO_NATIVE'] === '0') return { reason: 'disabled by MTLZOO_NATIVE=0' };
  const require = createRequire(import.meta.url);
  const errors: string[] = [];
  for (const root of ['../../native', '../../../native']) {
    let addon: Record<string, unknown>;
    try {
      addon = require(`${root}/build/Release/${file}`) as Record<string, unknown>;
    } catch (error) {
      errors.push((error as Error).message.split('\n')[0] ?? '');
      continue;
    }
    const missing = entryPoints.filter((name) => typeof addon[name] !== 'function');
    if (missing.length > 0) {
      return {
        reason: `native/build/Release/${file} is stale (built from older sources: lacks ${missing.join(', ')}); rebuild it with npm run build:native`,
      };
    }
    return { addon: addon as T };
  }
  return {
    reason: `not built (${errors[0]}); npm install builds it where g++ and libdnnl-dev are installed`,
  };
}
