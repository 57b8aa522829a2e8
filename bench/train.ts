/**
 * `npm run bench:train [-- --json] [-- --backbones a,b] [-- --backends x,y] [-- --steps N] [-- --profile]`
 *
 * Training-step and embedding throughput (images/s) of each backbone at its benchmark size on each available
 * backend, each case in a fresh process (bench/train-worker.ts), beside the same network in PyTorch
 * (bench/torch_reference.py, run with /usr/bin/python3, or the python that MTLZOO_TORCH_PYTHON names, when it
 * has torch) at the same number of threads; for an engine on a GPU, PyTorch on the GPU when it has CUDA.
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

/**
 * The engines benchmarked, one row each: the backend plugin a row runs, the environment of its worker, the
 * threads it computes with (which PyTorch is given too), whether it runs beyond tiny unless named, and
 * what else it needs. A row whose backend does not load here, or whose `unavailable` gives a reason, is
 * skipped.
 */
interface Engine {
  name: string;
  backend: string;
  threads: number;
  env?: Record<string, string>;
  /** Minutes per step beyond tiny: runs there only when named with --backends. */
  slow?: boolean;
  /** Runs on a GPU: compared with PyTorch on the GPU when PyTorch has CUDA. */
  gpu?: boolean;
  /** Whether the worker must find the native pack in use (true) or not (false). */
  native?: boolean;
  unavailable?: () => string | undefined;
}

const CORES = availableParallelism();

const ENGINES: readonly Engine[] = [
  { name: 'tensorflow-gpu', backend: 'tensorflow-gpu', threads: CORES, gpu: true },
  // On a GPU adapter; PyTorch is given every core when it has no CUDA.
  { name: 'webgpu', backend: 'webgpu', threads: CORES, gpu: true },
  { name: 'tensorflow', backend: 'tensorflow', threads: CORES },
  {
    name: 'wasm+native',
    backend: 'wasm',
    threads: CORES,
    env: { MTLZOO_NATIVE: '1' },
    native: true,
    unavailable: nativePackUnavailableReason,
  },
  // tfjs's wasm runs one thread in Node.
  { name: 'wasm', backend: 'wasm', threads: 1, env: { MTLZOO_NATIVE: '0' }, native: false },
  { name: 'cpu', backend: 'cpu', threads: 1, slow: true },
];

const PYTHON = process.env.MTLZOO_TORCH_PYTHON ?? '/usr/bin/python3';
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
  /** Where PyTorch ran: `cpu` or the CUDA device's name. */
  torchDevice: string | null;
  peakRssMB: number;
  torchPeakRssMB: number | null;
  /** Peak RSS against PyTorch's in the same run: the memory target refers to it. */
  rssRatioVsTorch: number | null;
  rssAfterWarmupMB: number;
  rssAfterStepsMB: number;
  tensorsAfterWarmup: number;
  tensorsAfterSteps: number;
  /** The GPU adapter (webgpu): a software one's figures are CPU figures. */
  adapter: GpuAdapterDescription | null;
  /** Where the memory goes (train-worker.ts's WorkerResult). */
  memory: WorkerResult['memory'];
}

interface TorchResult {
  device: string;
  threads: number;
  trainableParams: number;
  imagesPerSecond: number;
  embedImagesPerSecond: number;
  peakRssMB: number;
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

/**
 * The engines that can run here, and why each other one cannot. An engine on a software GPU adapter
 * (llvmpipe) is as slow as `cpu`, and runs beyond tiny only when named.
 */
async function availableEngines(): Promise<{ engines: Engine[]; skipped: string[] }> {
  const loads = new Map<string, string | undefined>();
  const software = new Set<string>();
  const registries = new Kernel().registries;
  for (const name of registries.of('backend').names()) {
    const engine = await registries.build('backend', { name }, {});
    const loaded = await engine.load();
    loads.set(name, loaded.available ? undefined : loaded.reason);
    if (loaded.available && loaded.adapter?.isFallbackAdapter) software.add(name);
  }
  const engines: Engine[] = [];
  const skipped: string[] = [];
  for (const engine of ENGINES) {
    const reason = loads.has(engine.backend)
      ? (loads.get(engine.backend) ?? engine.unavailable?.())
      : 'no such backend plugin';
    if (reason !== undefined) skipped.push(`${engine.name}: ${reason}`);
    else engines.push(software.has(engine.backend) ? { ...engine, slow: true, gpu: false } : engine);
  }
  return { engines, skipped };
}

/** Whether PyTorch imports, and whether it has a CUDA device; undefined when it does not import. */
function torchHere(): { cuda: boolean } | undefined {
  if (!existsSync(PYTHON)) return undefined;
  try {
    const out = execFileSync(PYTHON, ['-c', 'import torch; print(torch.cuda.is_available())'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return { cuda: out.trim() === 'True' };
  } catch {
    return undefined;
  }
}

function runTorch(size: Size, threads: number, steps: number, device: 'cpu' | 'cuda'): TorchResult {
  const args = [here('./torch_reference.py'), '--backbone', size.backbone];
  args.push('--input', String(size.options.inputSize), '--batch', String(size.batch));
  args.push('--embedding-dim', String(size.options.embeddingDim), '--threads', String(threads));
  args.push('--warmup', String(size.warmup), '--steps', String(steps), '--device', device);
  const out = execFileSync(PYTHON, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  return JSON.parse(out.trim().split('\n').pop()!) as TorchResult;
}

function runWorker(c: BenchCase, env: Record<string, string>): WorkerResult {
  const out = execFileSync(
    process.execPath,
    ['--import', 'tsx', '--conditions=mtlzoo-source', here('./train-worker.ts'), JSON.stringify(c)],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } },
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
    fixed(r.torchPeakRssMB, 0).padStart(6),
    fixed(r.rssRatioVsTorch, 2).padStart(6),
    `${r.tensorsAfterWarmup}→${r.tensorsAfterSteps}`.padStart(9),
    r.adapter ? ` ${formatAdapter(r.adapter)}` : '',
    r.torchDevice && r.torchDevice !== 'cpu' ? ` (PyTorch on ${r.torchDevice})` : '',
  ].join(' ');
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const { engines, skipped } = await availableEngines();
  const torch = args.torch ? torchHere() : undefined;
  const log = (line: string) => console.log(line);
  log(`machine: ${cpus()[0]?.model ?? 'unknown cpu'}, ${CORES} cores; node ${process.version}`);
  log(
    `engines: ${engines.map((e) => e.name).join(', ')}; PyTorch reference: ${torch ? `${PYTHON}${torch.cuda ? ' (CUDA for GPU engines)' : ''}` : 'absent'}`,
  );
  for (const line of skipped) log(`  skipped ${line}`);
  log(
    'backbone       backend     size      thr  train/s  torch/s  ratio  embed/s  torch/s  ratio  rss MB (peak)     torch  ratio   tensors   adapter',
  );
  const torchCache = new Map<string, TorchResult>();
  const results: BenchResult[] = [];
  for (const size of SIZES.filter((s) => !args.backbones || args.backbones.includes(s.backbone))) {
    const selected = engines.filter((e) =>
      args.backends ? args.backends.includes(e.name) : !e.slow || size.backbone === 'tiny',
    );
    for (const engine of selected) {
      const steps = args.steps ?? (engine.slow ? 2 : size.steps);
      const warmup = engine.slow ? 1 : size.warmup;
      const w = runWorker(
        { ...size, backend: engine.backend, warmup, steps, profile: args.profile },
        engine.env ?? {},
      );
      if (engine.native !== undefined && w.nativeUsed !== engine.native)
        throw new Error(`${engine.name}: the native pack was ${w.nativeUsed ? '' : 'not '}used`);
      const device = torch?.cuda && engine.gpu ? 'cuda' : 'cpu';
      const key = `${size.backbone}/${engine.threads}/${device}`;
      if (torch && !torchCache.has(key)) torchCache.set(key, runTorch(size, engine.threads, steps, device));
      const t = torchCache.get(key);
      const imagesPerSecond = (size.batch * 1000) / w.trainStepMs;
      const embedImagesPerSecond = (size.batch * 1000) / w.embedMs;
      const result: BenchResult = {
        backbone: size.backbone,
        backend: engine.name,
        threads: engine.threads,
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
        torchDevice: t?.device ?? null,
        peakRssMB: w.peakRssMB,
        torchPeakRssMB: t?.peakRssMB ?? null,
        rssRatioVsTorch: t ? w.peakRssMB / t.peakRssMB : null,
        rssAfterWarmupMB: w.rssAfterWarmupMB,
        rssAfterStepsMB: w.rssAfterStepsMB,
        tensorsAfterWarmup: w.tensorsAfterWarmup,
        tensorsAfterSteps: w.tensorsAfterSteps,
        adapter: w.adapter,
        memory: w.memory,
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
