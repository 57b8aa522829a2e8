/**
 * `npm install`'s hook for the native pack (native/install.js) on machines without what the build needs:
 * it says in one line what is missing and goes on (exit 0), or fails under MTLZOO_NATIVE_BUILD=require.
 * The machine is made to lack things by a PATH without compilers and by a stand-in compiler without
 * oneDNN's headers; the real build is `npm run build:native` (CI builds it through this hook).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('../native/install.js', import.meta.url));

function install(env: Record<string, string>): { status: number | null; lines: string[] } {
  const result = spawnSync(process.execPath, [SCRIPT], { env, encoding: 'utf8' });
  const lines = `${result.stdout}${result.stderr}`.split('\n').filter((l) => l.trim() !== '');
  return { status: result.status, lines };
}

describe('native pack install hook (native/install.js)', function () {
  let dir: string;

  before(function () {
    dir = mkdtempSync(join(tmpdir(), 'mtlzoo-install-'));
  });

  after(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('skips the build under MTLZOO_NATIVE_BUILD=0 with one line, and succeeds', function () {
    const { status, lines } = install({ PATH: process.env['PATH'] ?? '', MTLZOO_NATIVE_BUILD: '0' });
    assert.equal(status, 0);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(
      lines[0]!,
      /native kernel pack not built \(MTLZOO_NATIVE_BUILD=0\); training runs on wasm alone/,
    );
  });

  it('names the missing compiler, make and python3 on a machine without them, and succeeds', function () {
    const empty = join(dir, 'empty-bin');
    mkdirSync(empty);
    const { status, lines } = install({ PATH: empty });
    assert.equal(status, 0);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(
      lines[0]!,
      /not built \(missing g\+\+, make, python3\).*apt-get install -y g\+\+ make python3 libdnnl-dev/,
    );
  });

  it('names libdnnl-dev where a compiler lacks oneDNN’s headers, and fails under MTLZOO_NATIVE_BUILD=require', function () {
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    // make and python3 that run, and a compiler that knows its version but finds no header.
    const tools = { make: 'exit 0', python3: 'exit 0', 'c++': '[ "$1" = --version ]' };
    for (const [name, body] of Object.entries(tools)) {
      writeFileSync(join(bin, name), `#!/bin/sh\n${body}\n`);
      chmodSync(join(bin, name), 0o755);
    }
    const env = { PATH: bin };
    const { status, lines } = install(env);
    assert.equal(status, 0);
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0]!, /not built \(missing libdnnl-dev/);
    const required = install({ ...env, MTLZOO_NATIVE_BUILD: 'require' });
    assert.equal(required.status, 1);
    assert.match(required.lines.join('\n'), /missing libdnnl-dev/);
  });
});
