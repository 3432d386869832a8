// The words of `dmsim stats COMMAND [NAME]`, dmstats 1.02.185's verbs over the dm core's `@stats_*` messages
// (lvm2 libdm/dm-tools/dmsetup.c: _stats_create, _stats_delete, _stats_clear, _stats_list, _stats_print,
// _stats_report and their switches). What each command does is in ../dmstats.ts.

import { InvalidArgumentError } from '../../base/errors.js';
import type { ReportOptions } from '../report.js';
import type { VerbGrammar, Words } from './grammar.js';
import { REPORT_FIELD_OPTIONS, reportOptions } from './report-options.js';
import { wholeNumber } from './words.js';

const STATS_COMMANDS = ['create', 'delete', 'clear', 'list', 'print', 'report'] as const;
type StatsVerb = (typeof STATS_COMMANDS)[number];

/** Which regions a delete, clear or print is about: one, or all (of one device or of every device). */
type RegionChoice = { regionId: number } | { allRegions: true } | undefined;

export interface StatsCreate {
  command: 'create';
  /** undefined: --alldevices. */
  name?: string;
  /** Sectors; undefined: the whole device. */
  start?: number;
  length?: number;
  /** --areas N, or --areasize SECTORS (undefined: one area). */
  areas?: number;
  areaSize?: number;
  /** --bounds, in nanoseconds. */
  boundsNs?: number[];
  precise: boolean;
  programId: string;
  userData?: string;
}

export type StatsCommand =
  | StatsCreate
  | { command: 'delete' | 'clear' | 'print'; name?: string; regions: RegionChoice; programId: string }
  | { command: 'list'; name?: string; histogram: boolean; programId: string }
  | {
      command: 'report';
      name?: string;
      report: ReportOptions;
      programId: string;
    };

/** A size word as dmstats reads --start, --length and --areasize: sectors, or bytes with a unit (k, m, g, t). */
function sectorsWord(what: string, word: string): number {
  const m = /^(\d+(?:\.\d+)?)([bskmgtpe]?)$/i.exec(word);
  if (!m) throw new InvalidArgumentError(`${what} takes a size (sectors, or with a unit: 512k, 4m), not '${word}'`);
  const unit = m[2]!.toLowerCase();
  const n = Number(m[1]);
  if (unit === '' || unit === 's') return Math.floor(n);
  const bytes = n * 1024 ** ' kmgtpe'.indexOf(unit === 'b' ? ' ' : unit);
  return Math.floor(bytes / 512);
}

const TIME_UNITS: Record<string, number> = { ns: 1, us: 1e3, ms: 1e6, s: 1e9 };

/** --bounds 10ms,100ms: histogram boundaries in nanoseconds (a number without a unit is in nanoseconds). */
function boundsWord(word: string): number[] {
  return word.split(',').map((b) => {
    const m = /^(\d+)(ns|us|ms|s)?$/.exec(b);
    if (!m) throw new InvalidArgumentError(`--bounds takes times such as 10ms,100ms,1s; not '${b}'`);
    return Number(m[1]) * TIME_UNITS[m[2] ?? 'ns']!;
  });
}

function regions(w: Words): RegionChoice {
  const id = w.value('regionid');
  if (id !== undefined) return { regionId: wholeNumber('--regionid', id) };
  return w.flag('allregions') ? { allRegions: true } : undefined;
}

function build(w: Words): StatsCommand {
  const word = w.arg('COMMAND')!;
  const command = STATS_COMMANDS.find((c) => c === word) as StatsVerb | undefined;
  if (command === undefined)
    throw new InvalidArgumentError(`COMMAND is one of ${STATS_COMMANDS.join(', ')}, not '${word}'`);
  const given = w.arg('NAME');
  if (given !== undefined && w.flag('alldevices'))
    throw new InvalidArgumentError('give either NAME or --alldevices, not both');
  const name = given !== undefined ? { name: given.replace(/^\/dev\/mapper\//, '') } : {};
  const programId = w.value('programid') ?? 'dmstats';
  switch (command) {
    case 'create': {
      if (given === undefined && !w.flag('alldevices')) throw new InvalidArgumentError('give NAME or --alldevices');
      const create: StatsCreate = { command, ...name, precise: w.flag('precise'), programId };
      const start = w.value('start');
      const length = w.value('length');
      const areas = w.value('areas');
      const areaSize = w.value('areasize');
      const bounds = w.value('bounds');
      const userData = w.value('userdata');
      if (areas !== undefined && areaSize !== undefined)
        throw new InvalidArgumentError('give either --areas or --areasize, not both');
      if (start !== undefined) create.start = sectorsWord('--start', start);
      if (length !== undefined) create.length = sectorsWord('--length', length);
      if (areas !== undefined) create.areas = wholeNumber('--areas', areas);
      if (areaSize !== undefined) create.areaSize = sectorsWord('--areasize', areaSize);
      if (bounds !== undefined) create.boundsNs = boundsWord(bounds);
      if (userData !== undefined) create.userData = userData;
      return create;
    }
    case 'delete':
    case 'clear':
    case 'print':
      return { command, ...name, regions: regions(w), programId };
    case 'list':
      return { command, ...name, histogram: w.flag('histogram'), programId };
    case 'report': {
      return { command, ...name, report: reportOptions(w), programId };
    }
  }
}

export const STATS_GRAMMAR: VerbGrammar<StatsCommand> = {
  summary: "dm-stats regions like dmstats: create, delete, clear, list, print, report a device's I/O counters",
  args: [
    { name: 'COMMAND', description: STATS_COMMANDS.join(', ') },
    { name: 'NAME', optional: true },
  ],
  options: [
    { flags: '--regionid <id>', description: 'the region to delete, clear or print' },
    { flags: '--allregions', description: 'every region (of NAME, or with --alldevices of every device)' },
    { flags: '--alldevices', description: 'create on, or delete from, every device' },
    { flags: '--start <size>', description: 'create: first sector of the region (or a size: 512k)', inUsage: false },
    { flags: '--length <size>', description: 'create: length of the region (default: to the end)', inUsage: false },
    { flags: '--areas <n>', description: 'create: split the region into N areas', inUsage: false },
    { flags: '--areasize <size>', description: 'create: split the region into areas of SIZE', inUsage: false },
    { flags: '--bounds <list>', description: 'create: latency histogram bounds (10ms,100ms,1s)', inUsage: false },
    { flags: '--precise', description: 'create: nanosecond counters', inUsage: false },
    { flags: '--programid <id>', description: 'the program id (default: dmstats)', inUsage: false },
    { flags: '--userdata <text>', description: 'create: auxiliary data kept with the region', inUsage: false },
    { flags: '--histogram', description: 'list: show the histogram bounds', inUsage: false },
    ...REPORT_FIELD_OPTIONS.map((o) => ({ ...o, description: `report: ${o.description}`, inUsage: false })),
  ],
  note: 'COMMAND: create, delete, clear, list, print, report',
  build,
};
