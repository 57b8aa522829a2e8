/**
 * `npm run bench:train [-- --json] [-- --backbones a,b] [-- --backends x,y] [-- --steps N] [-- --profile]`
 *
 * Training-step and embedding throughput (images/s) of each backbone at its benchmark size on each available
 * backend, each case in a fresh process (bench/train-worker.ts), beside the same network in PyTorch
 * (bench/torch_reference.py, run with /usr/bin/python3 when it has torch) at the same number of threads.
 * With --json the last line of output is a JSON array of the results.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Kernel } from '../src/kernel/kernel.js';
import { nativePackUnavailableReason } from '../src/backend/wasm-native.js';
import { formatAdapter } from '../src/backend/webgpu/adapter.js';
import type { GpuAdapterDescription } from '../src/kinds/backend.js';
import type { BenchCase, WorkerResult } from './train-worker.js';

interface Size {
  backbone: string;
  options: { inputSize: number; embeddingDim: number };
  batch: number;
  warmup: number;
  steps: number;
}

/** Benchmark sizes; facenet-small at 64×64, batch 48 is the headline figure of issue 6. */
const SIZES: readonly Size[] = [
  { backbone: 'tiny', options: { inputSize: 32, embeddingDim: 32 }, batch: 64, warmup: 3, steps: 10 },
  {
    backbone: 'facenet-small',
    options: { inputSize: 64, embeddingDim: 256 },
    batch: 48,
    warmup: 1,
    steps: 3,
  },
  { backbone: 'resnet18', options: { inputSize: 112, embeddingDim: 64 }, batch: 32, warmup: 1, steps: 3 },
];

/** The pure-JS engine takes minutes per step beyond tiny: it runs there only when named, and briefly. */
const SLOW_BACKENDS = new Set(['cpu']);

/** Threads each engine computes with, which PyTorch is given too. tfjs's wasm runs one thread in Node. */
const THREADS: Record<string, number> = { cpu: 1, wasm: 1 };

/** wasm with the native pack's convolutions (oneDNN, every core), benchmarked beside plain wasm when built. */
const NATIVE = 'wasm+native';

const PYTHON = '/usr/bin/python3';
const here = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export interface BenchResult {
  backbone: string;
  backend: string;
  threads: number;
  inputSize: number;
  batch: number;
  steps: number;
  trainStepMs: number;
  /** Training throughput: the figure the targets refer to. */
  imagesPerSecond: number;
  embedImagesPerSecond: number;
  torchImagesPerSecond: number | null;
  torchEmbedImagesPerSecond: number | null;
  ratioVsTorch: number | null;
  embedRatioVsTorch: number | null;
  trainableParams: number;
  torchTrainableParams: number | null;
  peakRssMB: number;
  rssAfterWarmupMB: number;
  rssAfterStepsMB: number;
  tensorsAfterWarmup: number;
  tensorsAfterSteps: number;
  /** The GPU adapter (webgpu): a software one's figures are CPU figures. */
  adapter: GpuAdapterDescription | null;
}

interface TorchResult {
  threads: number;
  trainableParams: number;
  imagesPerSecond: number;
  embedImagesPerSecond: number;
}

function parseArgs(argv: string[]) {
  const value = (flag: string) => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const list = (flag: string) => value(flag)?.split(',');
  const steps = value('--steps');
  return {
    json: argv.includes('--json'),
    profile: argv.includes('--profile'),
    torch: !argv.includes('--no-torch'),
    backbones: list('--backbones'),
    backends: list('--backends'),
    steps: steps === undefined ? undefined : Number(steps),
  };
}

/** Backends that load, and those among them on a software GPU adapter (llvmpipe: as slow as `cpu`). */
async function availableBackends(): Promise<{ names: string[]; software: Set<string> }> {
  const names: string[] = [];
  const software = new Set<string>();
  const registries = new Kernel().registries;
  for (const name of registries.of('backend').names()) {
    const engine = await registries.build('backend', { name }, {});
    const loaded = await engine.load();
    if (!loaded.available) continue;
    if (name === 'wasm' && nativePackUnavailableReason() === undefined) names.push(NATIVE);
    if (loaded.adapter?.isFallbackAdapter) software.add(name);
    names.push(name);
  }
  return { names, software };
}

function hasTorch(): boolean {
  if (!existsSync(PYTHON)) return false;
  try {
    execFileSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function runTorch(size: Size, threads: number, steps: number): TorchResult {
  const args = [here('./torch_reference.py'), '--backbone', size.backbone];
  args.push('--input', String(size.options.inputSize), '--batch', String(size.batch));
  args.push('--embedding-dim', String(size.options.embeddingDim), '--threads', String(threads));
  args.push('--warmup', String(size.warmup), '--steps', String(steps));
  const out = execFileSync(PYTHON, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop()!) as TorchResult;
}

function runWorker(c: BenchCase, native: boolean): WorkerResult {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', '--conditions=mtlzoo-source', here('./train-worker.ts'), JSON.stringify(c)],
    {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, MTLZOO_NATIVE: native ? '1' : '0' },
    },
  );
  return JSON.parse(out.trim().split('\n').pop()!) as WorkerResult;
}

const fixed = (x: number | null, digits = 1) => (x === null ? '—' : x.toFixed(digits));

function formatRow(r: BenchResult): string {
  return [
    r.backbone.padEnd(14),
    r.backend.padEnd(11),
    `${r.inputSize}²×${r.batch}`.padEnd(9),
    String(r.threads).padStart(3),
    fixed(r.imagesPerSecond).padStart(9),
    fixed(r.torchImagesPerSecond).padStart(9),
    fixed(r.ratioVsTorch, 2).padStart(6),
    fixed(r.embedImagesPerSecond).padStart(9),
    fixed(r.torchEmbedImagesPerSecond).padStart(9),
    fixed(r.embedRatioVsTorch, 2).padStart(6),
    `${fixed(r.rssAfterWarmupMB, 0)}→${fixed(r.rssAfterStepsMB, 0)} (${fixed(r.peakRssMB, 0)})`.padStart(17),
    `${r.tensorsAfterWarmup}→${r.tensorsAfterSteps}`.padStart(9),
    r.adapter ? ` ${formatAdapter(r.adapter)}` : '',
  ].join(' ');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const { names: available, software } = await availableBackends();
  const torch = args.torch && hasTorch();
  const log = (line: string) => console.log(line);
  log(
    `machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${availableParallelism()} cores; node ${process.version}`,
  );
  log(`backends available: ${available.join(', ')}; PyTorch reference: ${torch ? PYTHON : 'absent'}`);
  const nativeAbsent = nativePackUnavailableReason();
  if (nativeAbsent) log(`${NATIVE}: ${nativeAbsent}`);
  log(
    'backbone       backend     size      thr  train/s  torch/s  ratio  embed/s  torch/s  ratio  rss MB (peak)      tensors   adapter',
  );
  const torchCache = new Map<string, TorchResult>();
  const results: BenchResult[] = [];
  for (const size of SIZES.filter((s) => !args.backbones || args.backbones.includes(s.backbone))) {
    const isSlow = (b: string) => SLOW_BACKENDS.has(b) || software.has(b);
    const backends = available.filter((b) =>
      args.backends ? args.backends.includes(b) : !isSlow(b) || size.backbone === 'tiny',
    );
    for (const backend of backends) {
      const slow = isSlow(backend);
      const steps = args.steps ?? (slow ? 2 : size.steps);
      const warmup = slow ? 1 : size.warmup;
      const threads = THREADS[backend] ?? availableParallelism();
      const native = backend === NATIVE;
      const w = runWorker(
        { ...size, backend: native ? 'wasm' : backend, warmup, steps, profile: args.profile },
        native,
      );
      if (w.nativeUsed !== native)
        throw new Error(`${backend}: the native pack was ${w.nativeUsed ? '' : 'not '}used`);
      const key = `${size.backbone}/${threads}`;
      if (torch && !torchCache.has(key)) torchCache.set(key, runTorch(size, threads, steps));
      const t = torchCache.get(key);
      const imagesPerSecond = (size.batch * 1000) / w.trainStepMs;
      const embedImagesPerSecond = (size.batch * 1000) / w.embedMs;
      const result: BenchResult = {
        backbone: size.backbone,
        backend,
        threads,
        inputSize: size.options.inputSize,
        batch: size.batch,
        steps,
        trainStepMs: w.trainStepMs,
        imagesPerSecond,
        embedImagesPerSecond,
        torchImagesPerSecond: t?.imagesPerSecond ?? null,
        torchEmbedImagesPerSecond: t?.embedImagesPerSecond ?? null,
        ratioVsTorch: t ? imagesPerSecond / t.imagesPerSecond : null,
        embedRatioVsTorch: t ? embedImagesPerSecond / t.embedImagesPerSecond : null,
        trainableParams: w.trainableParams,
        torchTrainableParams: t?.trainableParams ?? null,
        peakRssMB: w.peakRssMB,
        rssAfterWarmupMB: w.rssAfterWarmupMB,
        rssAfterStepsMB: w.rssAfterStepsMB,
        tensorsAfterWarmup: w.tensorsAfterWarmup,
        tensorsAfterSteps: w.tensorsAfterSteps,
        adapter: w.adapter,
      };
      results.push(result);
      log(formatRow(result));
      if (t && t.trainableParams !== w.trainableParams)
        log(
          `  warning: PyTorch's ${size.backbone} has ${t.trainableParams} trainable weights, ours ${w.trainableParams}`,
        );
    }
  }
  if (args.json) log(JSON.stringify(results));
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
