// dmstats 1.02.185's report rows and the values of its fields (lvm2 libdm/libdm-stats.c for the derived values,
// libdm/dm-tools/dmsetup.c's _report_fields for the headings); report.ts lays them out as libdm-report.c does, checked against
// what the oracle's dmstats printed (fixtures/dmsetup-dropin/kernel/dmstats-*.txt).

import { fieldsOf, TYPE_LIST } from './dmsetup-report-fields.js';
import type { FieldValue, ReportDefinition } from './report.js';

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

const perSecond = (v: number): number => (v * 1e9) / INTERVAL_NS;
const ratio = (a: number, b: number): number => (b === 0 ? 0 : a / b);

/** The area's first sector, as the row prints it. */
function areaStart(row: StatsRow): number {
  return row.region.start + row.areaId * row.region.step;
}

/** A size field: its text (dm_size_to_string), sorted by bytes. */
const size = (bytes: number): FieldValue => ({ text: sizeString(bytes), sort: bytes });

/**
 * DIFFERENCE: for a region row dmstats 1.02.185 prints the region's start as ArStart ("0b" when it is 0) and "0b"
 * as ArOff, and for some regions a meaningless size (256.00p); dmsim prints the region's start and 0b.
 */
const regionRowSize = (sectors: number): FieldValue => ({
  text: sectors === 0 ? '0b' : sizeString(sectors * 512),
  sort: sectors * 512,
});

/** A rate field: two decimals, sorted by its value. */
const rate = (v: number): FieldValue => ({ text: v.toFixed(2), sort: v });

/** What each stats field shows for a row (libdm-stats.c's dm_stats_get_* and dmsetup's _dm_stats_*_disp). */
const STATS_VALUES: Record<string, (r: StatsRow) => FieldValue> = {
  name: (r) => r.region.device,
  stats_name: (r) => r.region.device,
  group_id: () => '-',
  region_id: (r) => r.region.id,
  obj_type: (r) => r.type,
  area_id: (r) => r.areaId,
  area_start: (r) => (r.type === 'region' ? regionRowSize(r.region.start) : size(areaStart(r) * 512)),
  area_len: (r) => size(r.region.step * 512),
  area_offset: (r) => (r.type === 'region' ? { text: '0b', sort: 0 } : size(r.areaId * r.region.step * 512)),
  area_count: (r) => areaCount(r.region),
  region_start: (r) => size(r.region.start * 512),
  region_len: (r) => size(r.region.length * 512),
  program_id: (r) => r.region.programId,
  user_data: (r) => (r.region.auxData === '-' ? '' : r.region.auxData),
  precise: (r) => (r.region.precise ? '1' : '0'),
  hist_bins: (r) => String(r.region.boundsNs.length === 0 ? 0 : r.region.boundsNs.length + 1),
  hist_bounds: (r) => histogramBounds(r.region),
  hist_ranges: (r) => histogramRanges(r.region),
  hist_count: (r) => r.counters.histogram.map((c) => String(c).padStart(6)).join(''),
  read_count: (r) => r.counters.reads,
  reads_merged_count: (r) => r.counters.readMerges,
  read_sector_count: (r) => r.counters.readSectors,
  write_count: (r) => r.counters.writes,
  writes_merged_count: (r) => r.counters.writeMerges,
  write_sector_count: (r) => r.counters.writeSectors,
  in_progress_count: (r) => r.counters.inFlight,
  read_time: (r) => r.counters.readTicks,
  write_time: (r) => r.counters.writeTicks,
  io_ticks: (r) => r.counters.ioTicks,
  queue_ticks: (r) => r.counters.queueTicks,
  read_ticks: (r) => r.counters.readIoTicks,
  write_ticks: (r) => r.counters.writeIoTicks,
  interval_ns: () => INTERVAL_NS,
  // libdm divides the merge counts by the interval in ns, not in seconds (_rd_merges_per_sec): always 0.00 here.
  reads_merged_per_sec: (r) => rate(r.counters.readMerges / INTERVAL_NS),
  writes_merged_per_sec: (r) => rate(r.counters.writeMerges / INTERVAL_NS),
  reads_per_sec: (r) => rate(perSecond(r.counters.reads)),
  writes_per_sec: (r) => rate(perSecond(r.counters.writes)),
  read_size_per_sec: (r) => size(perSecond(r.counters.readSectors) * 512),
  write_size_per_sec: (r) => size(perSecond(r.counters.writeSectors) * 512),
  avg_request_size: (r) => {
    const c = r.counters;
    return size(Math.floor(ratio(c.readSectors + c.writeSectors, c.reads + c.writes)) * 512);
  },
  queue_size: (r) => rate(r.counters.queueTicks / INTERVAL_NS),
  util: (r) => rate(Math.min(100, (r.counters.ioTicks / INTERVAL_NS) * 100)),
  await: (r) => {
    const c = r.counters;
    return rate(ratio(c.readTicks + c.writeTicks, c.reads + c.writes) / NS_PER_MS);
  },
  read_await: (r) => rate(ratio(r.counters.readTicks, r.counters.reads) / NS_PER_MS),
  write_await: (r) => rate(ratio(r.counters.writeTicks, r.counters.writes) / NS_PER_MS),
  throughput: (r) => rate(perSecond(r.counters.reads + r.counters.writes)),
  service_time: (r) => {
    const c = r.counters;
    return rate(ratio(c.ioTicks, c.reads + c.writes) / NS_PER_MS);
  },
};

/** dmsetup's field table with the stats values: what `dmstats report` and `list` lay out (prefix: none). */
const STATS_FIELDS = fieldsOf('dmstats', STATS_VALUES);

/** `dmstats report`: its fields when -o is not given. */
export const STATS_REPORT: ReportDefinition<StatsRow> = {
  types: TYPE_LIST,
  fields: STATS_FIELDS,
  defaults:
    'name,group_id,region_id,obj_type,area_id,area_start,area_len,reads_merged_per_sec,writes_merged_per_sec,' +
    'reads_per_sec,writes_per_sec,read_size_per_sec,write_size_per_sec,avg_request_size,queue_size,util,await,' +
    'read_await,write_await',
  prefix: '',
};

/** `dmstats list`: with --histogram the bins and bounds instead of the program id. */
export function statsListReport(histogram: boolean): ReportDefinition<StatsRow> {
  const common = 'name,group_id,region_id,obj_type,region_start,region_len,area_count,area_len';
  return { ...STATS_REPORT, defaults: `${common},${histogram ? 'hist_bins,hist_bounds' : 'program_id'}` };
}
