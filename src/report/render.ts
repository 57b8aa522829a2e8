/**
 * Charts drawn in Node: a Vega-Lite spec compiled to Vega, run headless and serialised as SVG. No browser,
 * no network, no canvas (text is measured by Vega's estimate). The compiled Vega spec is what the page
 * makes interactive, so the page needs only Vega's runtime, not Vega-Lite's compiler.
 */
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { ChartSpec } from './charts/spec.js';

export interface RenderedChart {
  readonly vega: vega.Spec;
  readonly svg: string;
  /** SVG elements of data marks (one per item; one per line or area): what a browser must draw. */
  readonly marks: number;
  /** Warnings of the compiler and the dataflow (an empty list for a sound spec). */
  readonly warnings: readonly string[];
}

type Logger = ReturnType<typeof vega.logger>;

/** Keeps warnings, throws on errors: a chart that cannot be drawn is a bug, not a silent gap. */
function collectingLogger(warnings: string[]): Logger {
  let level = vega.Warn;
  const text = (args: readonly unknown[]) =>
    args.map((a) => (a instanceof Error ? a.message : String(a))).join(' ');
  const logger = {
    level(value?: number) {
      if (value === undefined) return level;
      level = value;
      return logger;
    },
    error(...args: unknown[]) {
      throw new Error(`vega: ${text(args)}`);
    },
    warn(...args: unknown[]) {
      const message = text(args);
      // Headless there is no window to listen to; the page binds zoom and hover to it.
      if (level >= vega.Warn && !message.startsWith('Can not resolve event source')) warnings.push(message);
      return logger;
    },
    info: () => logger,
    debug: () => logger,
  };
  return logger as unknown as Logger;
}

/** Marks only in line and area (and trail) are one path per series; every other mark draws each item. */
const SINGLE_PATH = new Set(['line', 'area', 'trail']);

interface SceneMark {
  readonly marktype: string;
  readonly role?: string;
  readonly items: readonly { readonly items?: readonly SceneMark[] }[];
}

/** Counts the data-mark elements of a scenegraph the way Vega's SVG renderer emits them. */
export function countMarks(mark: SceneMark): number {
  let count = 0;
  if (mark.role === 'mark') {
    count += SINGLE_PATH.has(mark.marktype) ? Math.min(1, mark.items.length) : mark.items.length;
  }
  if (mark.marktype === 'group') {
    for (const item of mark.items) for (const child of item.items ?? []) count += countMarks(child);
  }
  return count;
}

export function compileChart(spec: ChartSpec, warnings: string[] = []): vega.Spec {
  return compile(spec, { logger: collectingLogger(warnings) }).spec as vega.Spec;
}

export async function renderChart(spec: ChartSpec): Promise<RenderedChart> {
  const warnings: string[] = [];
  const compiled = compileChart(spec, warnings);
  const view = new vega.View(vega.parse(compiled), {
    renderer: 'none',
    logger: collectingLogger(warnings),
  });
  try {
    await view.runAsync();
    const svg = await view.toSVG();
    const marks = countMarks((view.scenegraph() as unknown as { root: SceneMark }).root);
    return { vega: compiled, svg, marks, warnings };
  } finally {
    view.finalize();
  }
}
