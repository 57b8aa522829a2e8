/** `mtlzoo report`: one self-contained HTML file for a run directory or a bench folder. */
import path from 'node:path';
import { writeFileAtomic } from '../../util/write.js';
import type { Kernel } from '../../kernel/kernel.js';
import { loadReportData, type ReportData } from './data.js';
import { renderReport } from './page.js';

export type { ReportData, ReportMethod } from './data.js';

/** Writes the report of `dir` to `out` atomically; returns what it shows. */
export async function writeReport(kernel: Kernel, dir: string, out: string): Promise<ReportData> {
  const data = await loadReportData(kernel, dir);
  await writeFileAtomic(path.resolve(out), renderReport(data));
  return data;
}
