/**
 * Where each task looks: per method whose model exposes spatial attention (`MtlModel.explain`, asen), a
 * grid of its maps, one row per task and one column per test image, each map over its image with how
 * concentrated it is. Methods without `explain` add nothing, so a report without such a method has no
 * such section.
 */
import path from 'node:path';
import { ATTENTION_COLOURS, IMAGE_WEIGHT } from '../analysis/attention.js';
import { missingRunsNote } from './charts/gradients.js';
import type { ReportMethod } from './data.js';
import { figureName, type Figure, type FigureSource, type GridImage } from './figure.js';
import { escapeHtml as esc } from './html/escape.js';

/** The colour scale of the maps, as an inline bar (the same stops `analyze attention` draws with). */
const RAMP =
  `<span class="ramp" style="background: linear-gradient(to right, ` +
  `${ATTENTION_COLOURS.map((c) => `rgb(${c.join(', ')})`).join(', ')})"></span>`;

const times = (x: number) => `${x.toFixed(2)}×`;

function methodFigures(method: ReportMethod): Figure[] {
  const label = `<b>${esc(method.label)}</b>`;
  if (method.attentionError) return [{ kind: 'note', html: `${label}: ${esc(method.attentionError)}` }];
  const maps = method.attention;
  if (!maps) return [];
  const { result, cellSize } = maps;
  const size = { width: cellSize, height: cellSize };
  const [h, w] = result.grid;
  const count = result.images.length;
  const rows = result.tasks.map((task, t) => {
    const overlays = result.overlays.slice(t * count, (t + 1) * count);
    const mean = overlays.reduce((sum, o) => sum + o.peakOverUniform, 0) / count;
    return {
      label: `<b>${esc(task)}</b><br><small>mean ${times(mean)}</small>`,
      images: overlays.map((o, k): GridImage => ({
        png: maps.overlays[t * count + k]!,
        ...size,
        alt: `${o.caption}: peak ${times(o.peakOverUniform)} the uniform weight`,
        note: times(o.peakOverUniform),
      })),
    };
  });
  const images = maps.images.map((png, k): GridImage => ({
    png,
    ...size,
    alt: `${result.split} image ${result.images[k]!.index}`,
  }));
  return [
    {
      kind: 'image-grid',
      name: figureName('attention', method.label),
      columns: result.images.map((i) => `${esc(result.split)} image ${i.index}`),
      rows: [{ label: 'image', images }, ...rows],
      caption:
        `${label} (${esc(path.basename(result.checkpoint))} checkpoint, step ${result.step}): each task's ` +
        `spatial attention on ${count} evenly spaced ${esc(result.split)} images (first row: the images ` +
        `alone). Each map (${h}×${w}, the attended stage's grid) is scaled to its own peak, upsampled and laid ` +
        `over the image at ${Math.round((1 - IMAGE_WEIGHT) * 100)} % opacity: ${RAMP} dark blue, no weight, ` +
        `to yellow, the map's peak; a map near uniform shows as an even tint. Colours compare places within ` +
        `one map; the figure under it compares maps: its peak weight as a multiple of the uniform weight ` +
        `1/${h * w} (1×: looks everywhere alike, ${h * w}×: all on one cell), with each task's mean over ` +
        `the images beside its name.`,
    },
  ];
}

export const attentionFigures: FigureSource = {
  section: 'attention',
  build(data) {
    const figures = data.methods.flatMap(methodFigures);
    if (figures.length === 0) return [];
    const missing = missingRunsNote(data, 'the attention maps');
    return [...(missing ? [missing] : []), ...figures];
  },
};
