/**
 * The few SVG pieces the report's charts are drawn with: escaped elements, linear scales with round
 * ticks, colours. Plain strings, so the report is one self-contained file with nothing to load.
 */

export type Attrs = Readonly<Record<string, string | number | undefined>>;

export function escapeXml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/** Numbers in attributes rounded to 0.01 px: shorter files, nothing visible lost. */
function attrValue(value: string | number): string {
  return typeof value === 'number' ? String(Math.round(value * 100) / 100) : escapeXml(value);
}

/** An element; `children` are markup (escape text with escapeXml). */
export function tag(name: string, attrs: Attrs = {}, ...children: string[]): string {
  const rendered = Object.entries(attrs)
    .filter((entry): entry is [string, string | number] => entry[1] !== undefined)
    .map(([key, value]) => ` ${key}="${attrValue(value)}"`)
    .join('');
  return children.length > 0 ? `<${name}${rendered}>${children.join('')}</${name}>` : `<${name}${rendered}/>`;
}

/** A text element. */
export function text(x: number, y: number, content: string, attrs: Attrs = {}): string {
  return tag('text', { x, y, ...attrs }, escapeXml(content));
}

/** A native tooltip for a mark. */
export function title(content: string): string {
  return tag('title', {}, escapeXml(content));
}

/** A round distance (1, 2 or 5 × 10^k) that splits [min, max] into about `count` intervals. */
function tickStep(min: number, max: number, count: number): number {
  const raw = (max - min) / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw)!;
}

/** Multiples of `step` in [min, max]. */
function multiples(min: number, max: number, step: number): number[] {
  const ticks: number[] = [];
  for (let i = Math.ceil(min / step - 1e-9); i * step <= max + step * 1e-9; i++) {
    ticks.push(Number((i * step).toPrecision(12)));
  }
  return ticks;
}

/** About this many intervals per axis. */
const TICKS = 5;

export interface LinearScale {
  (value: number): number;
  readonly ticks: readonly number[];
}

/**
 * Maps the values' range, widened to round ticks (and around a lone value), onto [from, to] of the page.
 * The domain comes from the data, so an axis never cuts a point off.
 */
export function linearScale(
  values: readonly number[],
  from: number,
  to: number,
  options: { readonly integer?: boolean } = {},
): LinearScale {
  const finite = values.filter(Number.isFinite);
  let lo = finite.length > 0 ? Math.min(...finite) : 0;
  let hi = finite.length > 0 ? Math.max(...finite) : 1;
  if (hi - lo < 1e-12) {
    const pad = lo !== 0 ? Math.abs(lo) * 0.1 : 1;
    lo -= pad;
    hi += pad;
  }
  // Counts such as training steps get whole-number ticks.
  const round = tickStep(lo, hi, TICKS);
  const step = options.integer ? Math.max(1, round) : round;
  const domainLo = Math.floor(lo / step + 1e-9) * step;
  const domainHi = Math.ceil(hi / step - 1e-9) * step;
  const scale = (value: number) => from + ((value - domainLo) / (domainHi - domainLo)) * (to - from);
  return Object.assign(scale, { ticks: multiples(domainLo, domainHi, step) });
}

/** Compact tick labels: 1.5k, 2M, 0.25. */
export function formatTick(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`;
  if (abs >= 1e4) return `${Number((value / 1e3).toPrecision(3))}k`;
  return String(Number(value.toPrecision(4)));
}

/** Okabe–Ito: distinguishable with the common colour-vision deficiencies. */
export const PALETTE = [
  '#0072b2',
  '#e69f00',
  '#009e73',
  '#cc79a7',
  '#56b4e9',
  '#d55e00',
  '#f0e442',
  '#000000',
];

export function seriesColour(index: number): string {
  return PALETTE[index % PALETTE.length]!;
}

function mix(a: readonly number[], b: readonly number[], t: number): string {
  const channel = (i: number) => Math.round(a[i]! + (b[i]! - a[i]!) * t);
  return `rgb(${channel(0)}, ${channel(1)}, ${channel(2)})`;
}

const BLUE = [33, 102, 172];
const WHITE = [247, 247, 247];
const RED = [178, 24, 43];

/** Blue (lo) through white (middle) to red (hi); grey for NaN. */
export function divergingColour(value: number, lo: number, hi: number): string {
  if (!Number.isFinite(value)) return '#bbbbbb';
  const t = Math.max(0, Math.min(1, (value - lo) / (hi - lo)));
  return t < 0.5 ? mix(BLUE, WHITE, t * 2) : mix(WHITE, RED, (t - 0.5) * 2);
}
