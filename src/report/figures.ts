/**
 * The report's figure sections and the sources that fill them. Adding a chart is one function from the
 * report's data to a Vega-Lite spec (see charts/spec.ts for the shared pieces), wrapped as a FigureSource
 * and listed here; adding a section is one row of SECTIONS.
 */
import { ALL_SHARED } from '../analysis/summary.js';
import { attentionFigures } from './attention-figures.js';
import { accuracyFigures } from './charts/accuracy.js';
import { gradientFigures } from './charts/gradients.js';
import { relatednessFigures } from './charts/relatedness.js';
import type { ReportData } from './data.js';
import type { Figure, FigureSource, Section } from './figure.js';
import { escapeHtml as esc } from './html/escape.js';

export const SECTIONS: readonly Section[] = [
  { id: 'accuracy', title: 'Accuracy and parameters' },
  {
    id: 'gradients',
    title: 'Gradient directions across tasks',
    intro: () =>
      `<p>The paper's argument: a method that lets tasks modulate shared features makes the tasks' gradients ` +
      `on the shared weights agree more (smaller angles). Per-task gradients of ${ALL_SHARED}, on a fixed set ` +
      `of validation triplets per task (<code>train.probe</code>); read them against the within-task angle ` +
      `(the noise floor: two halves of one task's triplets), in the tooltips and in the bench's results.md.</p>`,
  },
  {
    id: 'relatedness',
    title: 'Learned task relatedness',
    intro: (data: ReportData) => {
      const factors = data.methods.find((m) => m.relatedness)?.relatedness;
      const known = factors
        ? `<p class="meta">Generating factors: ${factors.tasks.map((t, i) => `${esc(t)} (${esc(factors.factors[i]!.join(', ') || '–')})`).join('; ')}.</p>`
        : '';
      return (
        `<p>Similarity of the tasks' learned task-specific variables per stage (first seed's run; best ` +
        `checkpoint, else last), to compare with how the tasks were built.</p>${known}`
      );
    },
  },
  {
    id: 'attention',
    title: 'Where each task looks',
    intro: () =>
      `<p>For methods that expose spatial attention (<code>MtlModel.explain</code>: asen's attribute-aware ` +
      `spatial attention), where each task's embedding looks on a few test images: the first seed's run, ` +
      `best checkpoint, else last, as <code>mtlzoo analyze attention</code> draws them.</p>`,
  },
];

export const FIGURES: readonly FigureSource[] = [
  accuracyFigures,
  gradientFigures,
  relatednessFigures,
  attentionFigures,
];

export interface SectionFigures {
  readonly section: Section;
  readonly figures: readonly Figure[];
}

/** A name not taken yet: `name`, else `name-2`, `name-3`… (labels such as "a b" and "a-b" meet in one name). */
function unique(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let i = 2; taken.has(candidate); i++) candidate = `${name}-${i}`;
  taken.add(candidate);
  return candidate;
}

/** Every section's figures, in page order, with unique names (they name the spec files). */
export function buildFigures(
  data: ReportData,
  sources: readonly FigureSource[] = FIGURES,
  sections: readonly Section[] = SECTIONS,
): SectionFigures[] {
  for (const source of sources) {
    if (!sections.some((s) => s.id === source.section)) {
      throw new Error(`figure source for unknown report section "${source.section}"`);
    }
  }
  const taken = new Set<string>();
  return sections.map((section) => ({
    section,
    figures: sources
      .filter((s) => s.section === section.id)
      .flatMap((s) => s.build(data))
      .map((f) => (f.kind === 'note' ? f : { ...f, name: unique(f.name, taken) })),
  }));
}
