import path from 'node:path';
import type { Command } from 'commander';
import { writeReport } from '../../report/html/index.js';
import { TRUST_PLUGINS_FLAG, type CliContext } from '../context.js';

export function registerReportCommand(program: Command, cli: CliContext): void {
  program
    .command('report')
    .description(
      'write one self-contained HTML report (tables, charts, gradient and relatedness heat maps) for a run or bench folder',
    )
    .argument('<dir>', 'a run directory (mtlzoo train) or a bench folder holding results.json (mtlzoo bench)')
    .option('--out <file>', 'where to write the report (default: <dir>/report.html)')
    .option(...TRUST_PLUGINS_FLAG)
    .action(async (dir: string, options: { out?: string; trustPlugins?: boolean }) => {
      const out = path.resolve(options.out ?? path.join(dir, 'report.html'));
      const data = await writeReport(cli.createKernel({ trustRunPlugins: options.trustPlugins }), dir, out);
      cli.logger.info(
        `report of ${data.methods.length} method(s) on ${data.dataset} (${data.tasks.length} tasks) written`,
      );
      cli.output.write(`${out}\n`);
    });
}
