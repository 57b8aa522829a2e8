import path from 'node:path';
import type { Command } from 'commander';
import { writeReport } from '../../report/html/index.js';
import { TRUST_PLUGINS_FLAG, type CliContext } from '../context.js';

export function registerReportCommand(program: Command, cli: CliContext): void {
  program
    .command('report')
    .description(
      'write a self-contained HTML report of a run or bench folder (charts drawn with Vega, interactive with scripts on) and its charts as Vega-Lite specs',
    )
    .argument('<dir>', 'a run directory (mtlzoo train) or a bench folder holding results.json (mtlzoo bench)')
    .option(
      '--out <file>',
      'where to write the report (default: <dir>/report.html); the specs go to <file without .html>.charts/',
    )
    .option(...TRUST_PLUGINS_FLAG)
    .action(async (dir: string, options: { out?: string; trustPlugins?: boolean }) => {
      const out = path.resolve(options.out ?? path.join(dir, 'report.html'));
      const report = await writeReport(
        cli.createKernel({ trustRunPlugins: options.trustPlugins }),
        dir,
        out,
        cli.logger,
      );
      const { data } = report;
      cli.logger.info(
        `report of ${data.methods.length} method(s) on ${data.dataset} (${data.tasks.length} tasks) written, ` +
          `${(report.bytes / 1e6).toFixed(2)} MB; ${report.charts.length} chart spec(s) in ${report.specFolder}`,
      );
      cli.output.write(`${out}\n`);
    });
}
