/** The data layer's public surface: what CLI commands and other plugins may use. */
export { inspectDataset, formatDatasetReport } from './inspect.js';
export type { DatasetReport, SplitReport, TaskSplitReport, LabelCount } from './inspect.js';
export { writePreview } from './preview.js';
export type { PreviewOptions } from './preview.js';
export { checkSplits, splitProblems } from './check.js';
export { generateTripletLists } from './zappos.js';
export type { GeneratorOptions } from './zappos.js';
