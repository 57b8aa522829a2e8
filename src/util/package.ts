/** mtlzoo's own package: its folder and version, found from this module (src/ from source, dist/src/ built). */
import { execFileSync } from 'node:child_process';
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

/**
 * The git commit of a checkout of mtlzoo at `root`, with `-dirty` when tracked files differ from it, so that a
 * recorded result names the code that produced it; null when `root` is not a checkout's top (an installed
 * package: a parent folder's repository is someone else's) or git is missing.
 */
export function checkoutCommit(root: string): string | null {
  if (!existsSync(path.join(root, '.git'))) return null;
  const git = (...args: string[]) =>
    execFileSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  try {
    const commit = git('rev-parse', 'HEAD').trim();
    return git('status', '--porcelain', '--untracked-files=no').trim() === '' ? commit : `${commit}-dirty`;
  } catch {
    return null;
  }
}

let ownCommit: string | null | undefined;

/** checkoutCommit of mtlzoo's own folder, read once per process. */
export function mtlzooCommit(): string | null {
  if (ownCommit === undefined) ownCommit = checkoutCommit(PACKAGE_ROOT);
  return ownCommit;
}
