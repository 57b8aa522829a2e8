/**
 * Loads an addon that the native build (native/install.js on `npm install`, or `npm run build:native`)
 * puts into native/build/Release/, from the sources (src/<folder>/) and from the compiled package
 * (dist/src/<folder>/) alike. MTLZOO_NATIVE=0 turns every native addon off.
 */
import { createRequire } from 'node:module';

export function loadNativeAddon<T>(file: string): { addon: T } | { reason: string } {
  if (process.env['MTLZOO_NATIVE'] === '0') return { reason: 'disabled by MTLZOO_NATIVE=0' };
  const require = createRequire(import.meta.url);
  const errors: string[] = [];
  for (const root of ['../../native', '../../../native']) {
    try {
      return { addon: require(`${root}/build/Release/${file}`) as T };
    } catch (error) {
      errors.push((error as Error).message.split('\n')[0] ?? '');
    }
  }
  return {
    reason: `not built (${errors[0]}); npm install builds it where g++ and libdnnl-dev are installed`,
  };
}
