/** mtlzoo's own package: its folder and version, found from this module (src/ from source, dist/src/ built). */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

function findPackage(): { root: string; version: string } {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    const manifest = path.join(dir, 'package.json');
    if (existsSync(manifest)) {
      const pkg = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'mtlzoo') return { root: dir, version: pkg.version ?? 'unknown' };
    }
    if (path.dirname(dir) === dir) return { root: dir, version: 'unknown' };
  }
}

const found = findPackage();

/** The folder holding mtlzoo's package.json (and bin/, templates/, dist/). */
export const PACKAGE_ROOT = found.root;
export const MTLZOO_VERSION = found.version;
