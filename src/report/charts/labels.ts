/**
 * Labels beside the points of a scatter plot that overlap neither each other nor the points: each label
 * tries positions around its point (right, left, above, below, diagonals; then further out) and takes the
 * one that collides least with what is already placed, staying inside the plot. Greedy, deterministic,
 * and cheap for the tens of points a report shows. Works in pixels; the chart converts the attachment
 * points back to data units, so the placement is part of the spec and survives export to the Vega editor.
 */

export interface LabelAnchor {
  /** Point centre in pixels, origin top left. */
  readonly x: number;
  readonly y: number;
  readonly text: string;
  /** Radius of the point's symbol in pixels. */
  readonly radius: number;
}

export interface Box {
  readonly x0: number;
  readonly y0: number;
  readonly x1: number;
  readonly y1: number;
}

export interface LabelLayout {
  readonly width: number;
  readonly height: number;
  readonly fontSize: number;
  /** Other things to keep clear of (error bars, reference lines), in pixels. */
  readonly obstacles?: readonly Box[];
}

/** Where a label's text is attached, how it is aligned there, and the box it is taken to cover. */
export interface PlacedLabel {
  readonly x: number;
  readonly y: number;
  readonly align: 'left' | 'center' | 'right';
  readonly baseline: 'top' | 'middle' | 'bottom';
  readonly box: Box;
}

/**
 * A generous width for text in a sans-serif font: Vega's own estimate when it has no canvas (Node), wider
 * than the true width in browsers. Labels are attached by their near edge, so a generous estimate costs
 * only spacing between labels, never distance from their points.
 */
export function estimateTextWidth(text: string, fontSize: number): number {
  return 0.8 * fontSize * text.length;
}

const DIRECTIONS: readonly (readonly [number, number])[] = [
  [1, 0],
  [-1, 0],
  [0, -1],
  [0, 1],
  [1, -1],
  [-1, -1],
  [1, 1],
  [-1, 1],
];
const GAPS = [3, 10, 20, 34];

function overlap(a: Box, b: Box): number {
  const w = Math.min(a.x1, b.x1) - Math.max(a.x0, b.x0);
  const h = Math.min(a.y1, b.y1) - Math.max(a.y0, b.y0);
  return w > 0 && h > 0 ? w * h : 0;
}

function outside(box: Box, width: number, height: number): number {
  const area = (box.x1 - box.x0) * (box.y1 - box.y0);
  return area - overlap(box, { x0: 0, y0: 0, x1: width, y1: height });
}

export function boxesOverlap(a: Box, b: Box): boolean {
  return overlap(a, b) > 0;
}

/** The label of `a` at `gap` pixels beyond its symbol in direction (dx, dy). */
function candidate(a: LabelAnchor, dx: number, dy: number, gap: number, w: number, h: number): PlacedLabel {
  const reach = a.radius + gap;
  const x = a.x + dx * reach;
  const y = a.y + dy * reach;
  const x0 = dx > 0 ? x : dx < 0 ? x - w : x - w / 2;
  const y0 = dy > 0 ? y : dy < 0 ? y - h : y - h / 2;
  return {
    x,
    y,
    align: dx > 0 ? 'left' : dx < 0 ? 'right' : 'center',
    baseline: dy > 0 ? 'top' : dy < 0 ? 'bottom' : 'middle',
    box: { x0, y0, x1: x0 + w, y1: y0 + h },
  };
}

export function placeLabels(anchors: readonly LabelAnchor[], layout: LabelLayout): PlacedLabel[] {
  const h = layout.fontSize + 2;
  const points: Box[] = anchors.map((a) => ({
    x0: a.x - a.radius,
    y0: a.y - a.radius,
    x1: a.x + a.radius,
    y1: a.y + a.radius,
  }));
  const fixed = [...points, ...(layout.obstacles ?? [])];
  const placed: (PlacedLabel | undefined)[] = anchors.map(() => undefined);
  // Crowded points first: they have the fewest free places.
  const crowding = anchors.map((a) =>
    anchors.reduce((sum, b) => sum + 1 / (1 + Math.hypot(a.x - b.x, a.y - b.y)), 0),
  );
  const order = anchors.map((_, i) => i).sort((i, j) => crowding[j]! - crowding[i]! || i - j);
  for (const i of order) {
    const a = anchors[i]!;
    const w = estimateTextWidth(a.text, layout.fontSize);
    const labels = placed.filter((p) => p !== undefined).map((p) => p.box);
    let best: { label: PlacedLabel; cost: number } | undefined;
    GAPS.forEach((gap, ring) =>
      DIRECTIONS.forEach(([dx, dy], d) => {
        const label = candidate(a, dx, dy, gap, w, h);
        const collisions = [...labels, ...fixed].reduce((sum, b) => sum + overlap(label.box, b), 0);
        // Collisions and leaving the plot dominate; then nearer rings, then the usual reading positions.
        const cost =
          100 * (collisions + outside(label.box, layout.width, layout.height)) + 10 * ring + d * 0.1;
        if (!best || cost < best.cost) best = { label, cost };
      }),
    );
    placed[i] = best!.label;
  }
  return placed.map((p) => p!);
}
