// dmstats 1.02.185's report fields and its table layout (lvm2 libdm/libdm-stats.c for the derived values,
// libdm/dm-tools/dmsetup.c's _stats_fields for the headings, libdm-report.c for the columns), checked against
// what the oracle's dmstats printed (fixtures/dmsetup-dropin/kernel/dmstats-*.txt).

import { InvalidArgumentError } from '../base/errors.js';

/** One region as @stats_list describes it. */
export interface StatsRegion {
  device: string;
  id: number;
  start: number;
  length: number;
  step: number;
  programId: string;
  auxData: string;
  precise: boolean;
  /** Histogram boundaries in ns (the message gives ms without precise timestamps). */
  boundsNs: number[];
}

/** The counters of one @stats_print line, times in ns. */
export interface StatsCounters {
  reads: number;
  readMerges: number;
  readSectors: number;
  readTicks: number;
  writes: number;
  writeMerges: number;
  writeSectors: number;
  writeTicks: number;
  inFlight: number;
  ioTicks: number;
  queueTicks: number;
  readIoTicks: number;
  writeIoTicks: number;
  histogram: number[];
}

/** One report row: an area of a region, or (for a region of more than one area) the region as a whole. */
export interface StatsRow {
  region: StatsRegion;
  type: 'area' | 'region';
  areaId: number;
  counters: StatsCounters;
}

/** dmstats reports one sample taken over its default interval of one second. */
const INTERVAL_NS = 1e9;
const NS_PER_MS = 1e6;

/** @stats_list's lines: `ID: START+LEN STEP PROGRAM AUX [precise_timestamps] [histogram:B,...]`. */
export function parseRegionList(device: string, text: string): StatsRegion[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((line) => {
      const [id, range, step, programId, auxData, ...flags] = line.split(' ');
      const [start, length] = range!.split('+').map(Number);
      const precise = flags.includes('precise_timestamps');
      const histogram = flags.find((f) => f.startsWith('histogram:'));
      const bounds = histogram ? histogram.slice('histogram:'.length).split(',').map(Number) : [];
      return {
        device,
        id: Number(id!.replace(':', '')),
        start: start!,
        length: length!,
        step: Number(step),
        programId: programId!,
        auxData: auxData!,
        precise,
        boundsNs: bounds.map((b) => (precise ? b : b * NS_PER_MS)),
      };
    });
}

/** The areas of a region. */
export function areaCount(r: StatsRegion): number {
  return Math.ceil(r.length / r.step);
}

/** One @stats_print line's counters (ms turned into ns unless the region counts in ns). */
export function parseCounters(region: StatsRegion, line: string): StatsCounters {
  const w = line.split(' ');
  const n = (i: number): number => Number(w[i]);
  const t = (i: number): number => (region.precise ? n(i) : n(i) * NS_PER_MS);
  return {
    reads: n(1),
    readMerges: n(2),
    readSectors: n(3),
    readTicks: t(4),
    writes: n(5),
    writeMerges: n(6),
    writeSectors: n(7),
    writeTicks: t(8),
    inFlight: n(9),
    ioTicks: t(10),
    queueTicks: t(11),
    readIoTicks: t(12),
    writeIoTicks: t(13),
    histogram: w[14] ? w[14].split(':').map(Number) : [],
  };
}

/** The region as a whole: its areas' counters added up. */
export function sumCounters(all: readonly StatsCounters[]): StatsCounters {
  const total = parseCounters({ precise: true } as StatsRegion, '0+0 0 0 0 0 0 0 0 0 0 0 0 0 0');
  for (const c of all) {
    for (const key of Object.keys(total) as (keyof StatsCounters)[]) {
      if (key === 'histogram') total.histogram = c.histogram.map((v, i) => v + (total.histogram[i] ?? 0));
      else total[key] += c[key];
    }
  }
  return total;
}

/** dm_size_to_string with units 'h': 0, 512b, 4.00k, 1.50m ... (1024-based). */
function sizeString(bytes: number): string {
  if (bytes === 0) return '0';
  const units = 'bkmgtpe';
  let u = 0;
  while (u < units.length - 1 && bytes >= 1024 ** (u + 1)) u++;
  return u === 0 ? `${bytes}b` : `${(bytes / 1024 ** u).toFixed(2)}${units[u]}`;
}

/** A histogram bound as dmstats prints it: 0s, 10ms, 500us, 2s. */
function timeString(ns: number): string {
  if (ns === 0) return '0s';
  if (ns % 1e9 === 0) return `${ns / 1e9}s`;
  if (ns % 1e6 === 0) return `${ns / 1e6}ms`;
  if (ns % 1e3 === 0) return `${ns / 1e3}us`;
  return `${ns}ns`;
}

function histogramBounds(r: StatsRegion): string {
  return r.boundsNs.length === 0 ? '' : [0, ...r.boundsNs].map(timeString).join(',');
}

function histogramRanges(r: StatsRegion): string {
  if (r.boundsNs.length === 0) return '';
  const edges = [0, ...r.boundsNs];
  return [
    ...edges.slice(0, -1).map((lo, i) => `${timeString(lo)}-${timeString(edges[i + 1]!)}`),
    `>${timeString(edges.at(-1)!)}`,
  ].join(',');
}

const rate = (v: number): string => v.toFixed(2);
const perSecond = (v: number): number => (v * 1e9) / INTERVAL_NS;
const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

interface Field {
  heading: string;
  align: 'left' | 'right';
  /** Narrowest the column may be (libdm's field width); the heading's length when absent. */
  width?: number;
  value(row: StatsRow): string;
}

/** The area's first sector, as the row prints it. */
function areaStart(row: StatsRow): number {
  return row.region.start + row.areaId * row.region.step;
}

/**
 * DIFFERENCE: for a region row dmstats 1.02.185 prints the region's start as ArStart ("0b" when it is 0) and "0b"
 * as ArOff, and for some regions a meaningless size (256.00p); dmsim prints the region's start and 0b.
 */
const regionRowSize = (sectors: number): string => (sectors === 0 ? '0b' : sizeString(sectors * 512));

const STATS_FIELDS: Record<string, Field> = {
  name: { heading: 'Name', align: 'left', width: 16, value: (r) => r.region.device },
  stats_name: { heading: 'Name', align: 'left', width: 16, value: (r) => r.region.device },
  group_id: { heading: 'GrpID', align: 'right', value: () => '-' },
  region_id: { heading: 'RgID', align: 'right', value: (r) => String(r.region.id) },
  obj_type: { heading: 'ObjType', align: 'left', value: (r) => r.type },
  area_id: { heading: 'ArID', align: 'right', value: (r) => String(r.areaId) },
  area_start: {
    heading: 'ArStart',
    align: 'right',
    value: (r) => (r.type === 'region' ? regionRowSize(r.region.start) : sizeString(areaStart(r) * 512)),
  },
  area_len: { heading: 'ArSize', align: 'right', value: (r) => sizeString(r.region.step * 512) },
  area_offset: {
    heading: 'ArOff',
    align: 'right',
    value: (r) => (r.type === 'region' ? '0b' : sizeString(r.areaId * r.region.step * 512)),
  },
  area_count: { heading: '#Areas', align: 'right', value: (r) => String(areaCount(r.region)) },
  region_start: { heading: 'RgStart', align: 'right', value: (r) => sizeString(r.region.start * 512) },
  region_len: { heading: 'RgSize', align: 'right', value: (r) => sizeString(r.region.length * 512) },
  program_id: { heading: 'ProgID', align: 'left', value: (r) => r.region.programId },
  user_data: {
    heading: 'UserData',
    align: 'left',
    value: (r) => (r.region.auxData === '-' ? '' : r.region.auxData),
  },
  precise: { heading: 'Precise', align: 'left', value: (r) => (r.region.precise ? '1' : '0') },
  hist_bins: {
    heading: '#Bins',
    align: 'left',
    width: 9,
    value: (r) => String(r.region.boundsNs.length === 0 ? 0 : r.region.boundsNs.length + 1),
  },
  hist_bounds: { heading: 'Histogram Bounds', align: 'left', value: (r) => histogramBounds(r.region) },
  hist_ranges: { heading: 'Histogram Ranges', align: 'left', value: (r) => histogramRanges(r.region) },
  hist_count: {
    heading: 'Histogram Counts',
    align: 'left',
    value: (r) => r.counters.histogram.map((c) => String(c).padStart(6)).join(''),
  },
  read_count: { heading: '#Reads', align: 'right', value: (r) => String(r.counters.reads) },
  reads_merged_count: { heading: '#RdMrgs', align: 'right', value: (r) => String(r.counters.readMerges) },
  read_sector_count: { heading: '#RdSectors', align: 'right', value: (r) => String(r.counters.readSectors) },
  write_count: { heading: '#Writes', align: 'right', value: (r) => String(r.counters.writes) },
  writes_merged_count: { heading: '#WrMrgs', align: 'right', value: (r) => String(r.counters.writeMerges) },
  write_sector_count: { heading: '#WrSectors', align: 'right', value: (r) => String(r.counters.writeSectors) },
  in_progress_count: { heading: '#InProg', align: 'right', value: (r) => String(r.counters.inFlight) },
  read_time: { heading: 'AccRdTime', align: 'right', value: (r) => String(r.counters.readTicks) },
  write_time: { heading: 'AccWrTime', align: 'right', value: (r) => String(r.counters.writeTicks) },
  io_ticks: { heading: 'IoTicks', align: 'right', value: (r) => String(r.counters.ioTicks) },
  queue_ticks: { heading: 'QueueTicks', align: 'right', value: (r) => String(r.counters.queueTicks) },
  read_ticks: { heading: 'RdTicks', align: 'right', value: (r) => String(r.counters.readIoTicks) },
  write_ticks: { heading: 'WrTicks', align: 'right', value: (r) => String(r.counters.writeIoTicks) },
  interval_ns: { heading: 'IntervalNs', align: 'right', value: () => String(INTERVAL_NS) },
  // libdm divides the merge counts by the interval in ns, not in seconds (_rd_merges_per_sec): always 0.00 here.
  reads_merged_per_sec: {
    heading: 'RMrg/s',
    align: 'right',
    value: (r) => rate(r.counters.readMerges / INTERVAL_NS),
  },
  writes_merged_per_sec: {
    heading: 'WMrg/s',
    align: 'right',
    value: (r) => rate(r.counters.writeMerges / INTERVAL_NS),
  },
  reads_per_sec: { heading: 'R/s', align: 'right', value: (r) => rate(perSecond(r.counters.reads)) },
  writes_per_sec: { heading: 'W/s', align: 'right', value: (r) => rate(perSecond(r.counters.writes)) },
  read_size_per_sec: {
    heading: 'RSz/s',
    align: 'right',
    value: (r) => sizeString(perSecond(r.counters.readSectors) * 512),
  },
  write_size_per_sec: {
    heading: 'WSz/s',
    align: 'right',
    value: (r) => sizeString(perSecond(r.counters.writeSectors) * 512),
  },
  avg_request_size: {
    heading: 'AvgRqSz',
    align: 'right',
    value: (r) => {
      const c = r.counters;
      return sizeString(Math.floor(ratio(c.readSectors + c.writeSectors, c.reads + c.writes)) * 512);
    },
  },
  queue_size: { heading: 'QSize', align: 'right', value: (r) => rate(r.counters.queueTicks / INTERVAL_NS) },
  util: {
    heading: 'Util%',
    align: 'right',
    value: (r) => rate(Math.min(100, (r.counters.ioTicks / INTERVAL_NS) * 100)),
  },
  await: {
    heading: 'AWait',
    align: 'right',
    value: (r) => {
      const c = r.counters;
      return rate(ratio(c.readTicks + c.writeTicks, c.reads + c.writes) / NS_PER_MS);
    },
  },
  read_await: {
    heading: 'RdAWait',
    align: 'right',
    value: (r) => rate(ratio(r.counters.readTicks, r.counters.reads) / NS_PER_MS),
  },
  write_await: {
    heading: 'WrAWait',
    align: 'right',
    value: (r) => rate(ratio(r.counters.writeTicks, r.counters.writes) / NS_PER_MS),
  },
  throughput: {
    heading: 'Throughput',
    align: 'right',
    value: (r) => rate(perSecond(r.counters.reads + r.counters.writes)),
  },
  service_time: {
    heading: 'SvcTm',
    align: 'right',
    value: (r) => {
      const c = r.counters;
      return rate(ratio(c.ioTicks, c.reads + c.writes) / NS_PER_MS);
    },
  },
};

/** `dmstats report`'s fields when -o is not given. */
export const REPORT_DEFAULT_FIELDS = [
  'name',
  'group_id',
  'region_id',
  'obj_type',
  'area_id',
  'area_start',
  'area_len',
  'reads_merged_per_sec',
  'writes_merged_per_sec',
  'reads_per_sec',
  'writes_per_sec',
  'read_size_per_sec',
  'write_size_per_sec',
  'avg_request_size',
  'queue_size',
  'util',
  'await',
  'read_await',
  'write_await',
];

/** `dmstats list`'s fields (with --histogram the bins and bounds instead of the program id). */
export function listFields(histogram: boolean): string[] {
  const common = ['name', 'group_id', 'region_id', 'obj_type', 'region_start', 'region_len', 'area_count', 'area_len'];
  return [...common, ...(histogram ? ['hist_bins', 'hist_bounds'] : ['program_id'])];
}

export interface TableLayout {
  headings: boolean;
  /** undefined: dmsetup's default, aligned columns one space apart (':' unaligned without headings). */
  separator?: string;
}

/**
 * libdm's report: a heading line, then one line per row; aligned columns (values left or right by field, headings
 * always left) unless a separator was given or headings are off. An empty report prints nothing.
 */
export function formatStatsTable(
  fieldNames: readonly string[],
  rows: readonly StatsRow[],
  layout: TableLayout,
): string {
  const unknown = fieldNames.find((f) => !(f in STATS_FIELDS));
  if (unknown !== undefined) {
    throw new InvalidArgumentError(`Unrecognised field: ${unknown} (fields: ${Object.keys(STATS_FIELDS).join(', ')})`);
  }
  if (rows.length === 0) return '';
  const fields = fieldNames.map((f) => STATS_FIELDS[f]!);
  const cells = rows.map((row) => fields.map((f) => f.value(row)));
  if (layout.separator !== undefined || !layout.headings) {
    const sep = layout.separator ?? ':';
    const lines = [...(layout.headings ? [fields.map((f) => f.heading)] : []), ...cells];
    return lines.map((l) => `${l.join(sep)}\n`).join('');
  }
  const widths = fields.map((f, i) =>
    Math.max(f.width ?? f.heading.length, f.heading.length, ...cells.map((c) => c[i]!.length)),
  );
  const line = (values: readonly string[], heading: boolean): string =>
    values
      .map((v, i) => (heading || fields[i]!.align === 'left' ? v.padEnd(widths[i]!) : v.padStart(widths[i]!)))
      .join(' ');
  return [
    line(
      fields.map((f) => f.heading),
      true,
    ),
    ...cells.map((c) => line(c, false)),
  ]
    .map((l) => `${l}\n`)
    .join('');
}
