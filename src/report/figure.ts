/**
 * What a report section shows: charts (Vega-Lite specs), images (PNG panels, alone or in a labelled grid)
 * and notes. A figure source turns the report's data into figures for one section; the report's list of
 * sources is in figures.ts.
 */
import type { ChartSpec } from './charts/spec.js';
import type { ReportData } from './data.js';

/** A section of the report that holds figures, in the order the page shows them. */
export interface Section {
  /** Anchor id in the page. */
  readonly id: string;
  readonly title: string;
  /** Paragraphs under the title, as HTML. */
  intro?(data: ReportData): string;
}

export interface ChartFigure {
  readonly kind: 'chart';
  /** File name of the spec beside the report (`report.charts/<name>.vl.json`): [a-z0-9-], unique. */
  readonly name: string;
  /** Caption, as HTML (escape data with escapeHtml). */
  readonly caption: string;
  readonly spec: ChartSpec;
}

export interface ImageFigure {
  readonly kind: 'image';
  readonly name: string;
  readonly caption: string;
  /** Text for readers who cannot see the image. */
  readonly alt: string;
  readonly png: Uint8Array;
}

/** One picture of an image grid: a PNG of `width` × `height` pixels. */
export interface GridImage {
  readonly png: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** Text for readers who cannot see the image, also its tooltip. */
  readonly alt: string;
  /** A short line under the image, as HTML. */
  readonly note?: string;
}

/** Small pictures laid out in labelled rows and columns (e.g. one attention map per task and image). */
export interface ImageGridFigure {
  readonly kind: 'image-grid';
  readonly name: string;
  readonly caption: string;
  /** Column headings, as HTML. */
  readonly columns: readonly string[];
  /** Each row's heading (HTML) and its images, one per column. */
  readonly rows: readonly { readonly label: string; readonly images: readonly GridImage[] }[];
}

/** A remark where a figure cannot be drawn (and why), as HTML. */
export interface NoteFigure {
  readonly kind: 'note';
  readonly html: string;
}

export type Figure = ChartFigure | ImageFigure | ImageGridFigure | NoteFigure;

export interface FigureSource {
  /** Id of the section the figures go in. */
  readonly section: string;
  build(data: ReportData): readonly Figure[];
}

/** `relatedness-modulation (matrix)` → `relatedness-modulation-matrix`. */
export function figureName(...parts: readonly string[]): string {
  return parts
    .join('-')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '');
}
