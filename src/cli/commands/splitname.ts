// `dmsim splitname NAME [SUBSYSTEM]`: dmsetup splitname, an LVM name's VG, LV and layer as a column report;
// it needs no daemon.

import type { Command } from 'commander';
import { splitnameReport } from '../../control/dmsetup-reports.js';
import { registerVerb } from '../daemon-session.js';

export function registerSplitname(program: Command): void {
  registerVerb(program, 'splitname', { socket: false }, async ({ name, subsystem, report }) => {
    const text = splitnameReport(name, subsystem, report);
    process.stderr.write(text.stderr);
    process.stdout.write(text.stdout);
  });
}
