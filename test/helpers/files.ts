import { promises as fs, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** A fresh temporary folder, removed by `cleanup`. */
export function tempDir(prefix = 'mtlzoo-test-'): { dir: string; cleanup(): void } {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes `files` (relative path → text) under `dir`, creating folders. */
export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [name, text] of Object.entries(files)) {
    const target = path.join(dir, name);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
}

/** Copies run folder `runDir` to `copy`, its last checkpoint marked with a format no version of mtlzoo reads. */
export async function copyWithUnknownCheckpointFormat(runDir: string, copy: string): Promise<void> {
  await fs.cp(runDir, copy, { recursive: true });
  const modelJson = path.join(copy, 'checkpoints', 'last', 'model.json');
  const model = JSON.parse(await fs.readFile(modelJson, 'utf8')) as { format: string };
  await fs.writeFile(modelJson, JSON.stringify({ ...model, format: 'mtlzoo-checkpoint/0' }));
}
