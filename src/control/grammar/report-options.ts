// The column report's switches as dmsetup 1.02.185 reads them for every report it prints (lvm2
// libdm/dm-tools/dmsetup.c: _process_switches' -o, -O/--sort, --noheadings, --separator, --nameprefixes, --rows,
// handed to libdm-report's dm_report_init): `info -c`, `splitname` and `stats report` share them.

import type { ReportOptions } from '../report.js';
import type { Words } from './grammar.js';

/** The switches that shape a report (info -c adds -c to ask for one). */
export const REPORT_FIELD_OPTIONS = [
  { flags: '-o, --options <fields>', description: 'the fields, comma-separated; +FIELDS adds to the defaults' },
  { flags: '--noheadings', description: 'no heading line; fields separated by ":"', inUsage: false },
  { flags: '--separator <separator>', description: 'put SEPARATOR between the fields', inUsage: false },
  { flags: '-O, --sort <keys>', description: 'sort by these fields (-FIELD: descending)', inUsage: false },
  { flags: '--nameprefixes', description: "print each field as DM_FIELD='value'", inUsage: false },
  { flags: '--rows', description: 'one line per field instead of one per device', inUsage: false },
] as const;

export function reportOptions(w: Words): ReportOptions {
  const fields = w.value('options');
  const sort = w.value('sort');
  const separator = w.value('separator');
  return {
    ...(fields !== undefined ? { fields } : {}),
    ...(sort !== undefined ? { sort } : {}),
    ...(separator !== undefined ? { separator } : {}),
    noHeadings: w.flag('noheadings'),
    namePrefixes: w.flag('nameprefixes'),
    rows: w.flag('rows'),
  };
}
