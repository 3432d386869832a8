// DmStats: one mapped device's I/O statistics regions (drivers/md/dm-stats.c): the `@stats_*` messages the dm
// core answers itself, and the counters every region keeps per area (reads, merges, sectors, ticks, in flight,
// io_ticks, time_in_queue, histograms), fed at the start and the end of every request the device serves.

import type { Clock } from '../base/clock.js';
import { DmError, InvalidArgumentError } from '../base/errors.js';

/** Direction of a request as bio_data_dir sees it: a discard counts as a write. */
type Dir = 0 | 1;
const READ: Dir = 0;
const WRITE: Dir = 1;

/** The kernel's INT_MAX: region ids are ints. */
const INT_MAX = 2 ** 31 - 1;
/**
 * dm_stat_need_memory refuses a region whose counters would take more than a quarter of the machine's memory;
 * here a region has at most this many areas (each area is a few hundred bytes of counters).
 */
const MAX_AREAS = 1 << 22;

interface Area {
  ios: [number, number];
  merges: [number, number];
  sectors: [number, number];
  ticks: [number, number];
  ioTicks: [number, number];
  ioTicksTotal: number;
  timeInQueue: number;
  inFlight: [number, number];
  histogram: number[];
  /** shared->stamp: when io_ticks and time_in_queue were last brought up to date. */
  stamp: number;
}

interface Region {
  id: number;
  start: number;
  end: number;
  step: number;
  precise: boolean;
  /** histogram_boundaries: ms, or ns with precise timestamps. */
  bounds: number[];
  programId: string;
  auxData: string;
  areas: Area[];
}

/** What a started request carries to its end (struct dm_stats_aux with the io's start time). */
export interface StatsIo {
  dir: Dir;
  sector: number;
  count: number;
  merged: boolean;
  startMs: number;
  /** The regions that saw the start: the kernel quiesces the device to create a region, so none is added mid-I/O. */
  regions: readonly Region[];
}

export class DmStats {
  private readonly clock: Clock;
  /** stats->list, kept sorted by id. */
  private regions: Region[] = [];
  /** stats->last (one CPU): where the previous request ended and its direction, for the merged count. */
  private lastSector = Number.MAX_SAFE_INTEGER;
  private lastDir: Dir | undefined;

  constructor(clock: Clock) {
    this.clock = clock;
  }

  /**
   * dm_stats_message: answers a `@stats_*` message; undefined when argv[0] is not one (the caller refuses it).
   * deviceSectors: dm_get_size, what a `-` range covers.
   */
  message(argv: readonly string[], deviceSectors: number): string | undefined {
    const word = argv[0]!.toLowerCase();
    const invalid = (): InvalidArgumentError => new InvalidArgumentError(`Invalid parameters for message ${argv[0]}`);
    switch (word) {
      case '@stats_create':
        return this.create(argv, deviceSectors, invalid);
      case '@stats_delete':
        if (argv.length !== 2) throw invalid();
        this.regions = this.regions.filter((r) => r !== this.find(regionId(argv[1]!, invalid)));
        return '';
      case '@stats_clear':
        if (argv.length !== 2) throw invalid();
        this.clear(this.find(regionId(argv[1]!, invalid)), 0, Number.MAX_SAFE_INTEGER);
        return '';
      case '@stats_list':
        if (argv.length > 2) throw invalid();
        return this.list(argv[1]);
      case '@stats_print':
      case '@stats_print_clear':
        return this.print(argv, word === '@stats_print_clear', invalid);
      case '@stats_set_aux':
        if (argv.length !== 3) throw invalid();
        this.find(regionId(argv[1]!, invalid)).auxData = argv[2]!;
        return '';
      default:
        return undefined;
    }
  }

  /** dm_stats_account_io at the start of a request: counts it in flight in every area it touches. */
  start(op: 'read' | 'write', sector: number, count: number): StatsIo | undefined {
    if (count === 0 || this.regions.length === 0) return undefined;
    const dir = op === 'read' ? READ : WRITE;
    const merged = sector === this.lastSector && dir === this.lastDir;
    this.lastSector = sector + count;
    this.lastDir = dir;
    const io: StatsIo = { dir, sector, count, merged, startMs: this.ms(), regions: [...this.regions] };
    for (const r of io.regions) {
      this.forEachArea(r, io, (area) => {
        this.round(r, area);
        area.inFlight[dir]++;
      });
    }
    return io;
  }

  /** dm_stats_account_io at the end of a request (success or failure alike). */
  end(io: StatsIo): void {
    const durationMs = this.ms() - io.startMs;
    const durationNs = durationMs * 1e6;
    for (const r of io.regions) {
      if (!this.regions.includes(r)) continue;
      const duration = r.precise ? durationNs : durationMs;
      this.forEachArea(r, io, (area, len) => {
        this.round(r, area);
        area.inFlight[io.dir]--;
        area.sectors[io.dir] += len;
        area.ios[io.dir]++;
        if (io.merged) area.merges[io.dir]++;
        area.ticks[io.dir] += duration;
        if (r.bounds.length > 0) area.histogram[histogramSlot(r.bounds, duration)]!++;
      });
    }
  }

  /** message_stats_create: `<range> <step> [<n> <feature>...] [<program_id> [<aux_data>]]`; replies the new id. */
  private create(argv: readonly string[], deviceSectors: number, invalid: () => InvalidArgumentError): string {
    if (argv.length < 3) throw invalid();
    const range = argv[1]!;
    let start: number;
    let len: number;
    if (range === '-') {
      start = 0;
      len = deviceSectors || 1;
    } else {
      const m = /^(\d+)\+(\d+)$/.exec(range);
      if (!m) throw invalid();
      start = Number(m[1]);
      len = Number(m[2]);
    }
    const end = start + len;
    if (start >= end || !Number.isSafeInteger(end)) throw invalid();
    const stepWord = argv[2]!;
    let step: number;
    const divisor = /^\/(\d+)$/.exec(stepWord);
    if (divisor) {
      const d = Number(divisor[1]);
      if (d === 0 || d > 0xffffffff) throw invalid();
      step = Math.max(1, Math.ceil((end - start) / d));
    } else {
      if (!/^\d+$/.test(stepWord)) throw invalid();
      step = Number(stepWord);
      if (step === 0 || !Number.isSafeInteger(step)) throw invalid();
    }
    let i = 3;
    let precise = false;
    let bounds: number[] = [];
    // A number after the step counts the feature words that follow; anything else is the program id.
    if (argv[i] !== undefined && /^\d+$/.test(argv[i]!)) {
      let features = Number(argv[i++]);
      while (features-- > 0) {
        const f = argv[i++];
        if (f === undefined) throw invalid();
        if (f.toLowerCase() === 'precise_timestamps') precise = true;
        else if (f.toLowerCase().startsWith('histogram:') && bounds.length === 0) {
          bounds = parseHistogram(f.slice('histogram:'.length), invalid);
        } else throw invalid();
      }
    }
    const programId = argv[i++] ?? '-';
    const auxData = argv[i++] ?? '-';
    if (i < argv.length) throw invalid();
    const nAreas = Math.ceil((end - start) / step);
    if (nAreas > MAX_AREAS) {
      throw new DmError('ENOMEM', `a stats region of ${nAreas} areas is more than dmsim keeps (${MAX_AREAS})`);
    }
    let id = 0;
    for (const r of this.regions) {
      if (r.id > id) break;
      id++;
    }
    const now = precise ? this.ns() : this.ms();
    const region: Region = {
      id,
      start,
      end,
      step,
      precise,
      bounds,
      programId,
      auxData,
      areas: Array.from({ length: nAreas }, () => newArea(bounds.length, now)),
    };
    this.regions.push(region);
    this.regions.sort((a, b) => a.id - b.id);
    return String(id);
  }

  /** dm_stats_list: one line per region, or only those of one program. */
  private list(program: string | undefined): string {
    return this.regions
      .filter((r) => program === undefined || r.programId === program)
      .map((r) => {
        let line = `${r.id}: ${r.start}+${r.end - r.start} ${r.step} ${r.programId} ${r.auxData}`;
        if (r.precise) line += ' precise_timestamps';
        if (r.bounds.length > 0) line += ` histogram:${r.bounds.join(',')}`;
        return `${line}\n`;
      })
      .join('');
  }

  /** message_stats_print: `<id> [<first area> <count>]` (`-` for either: from the first, to the last). */
  private print(argv: readonly string[], clear: boolean, invalid: () => InvalidArgumentError): string {
    if (argv.length !== 2 && argv.length !== 4) throw invalid();
    const id = regionId(argv[1]!, invalid);
    let first = 0;
    let count = Number.MAX_SAFE_INTEGER;
    if (argv.length === 4) {
      const number = (w: string, dflt: number): number => {
        if (w === '-') return dflt;
        if (!/^\d+$/.test(w)) throw invalid();
        return Number(w);
      };
      first = number(argv[2]!, first);
      count = number(argv[3]!, count);
    }
    const r = this.find(id);
    const last = Math.min(first + count, r.areas.length);
    first = Math.min(first, last);
    let out = '';
    for (let x = first; x < last; x++) {
      const a = r.areas[x]!;
      this.round(r, a);
      const t = (v: number): number => (r.precise ? v : Math.floor(v));
      const words = [
        `${r.start + x * r.step}+${r.step}`,
        a.ios[READ],
        a.merges[READ],
        a.sectors[READ],
        t(a.ticks[READ]),
        a.ios[WRITE],
        a.merges[WRITE],
        a.sectors[WRITE],
        t(a.ticks[WRITE]),
        a.inFlight[READ] + a.inFlight[WRITE],
        t(a.ioTicksTotal),
        t(a.timeInQueue),
        t(a.ioTicks[READ]),
        t(a.ioTicks[WRITE]),
      ];
      out += `${words.join(' ')}${r.bounds.length > 0 ? ` ${a.histogram.join(':')}` : ''}\n`;
    }
    if (clear) this.clear(r, first, last);
    return out;
  }

  /** __dm_stat_clear: zeroes the counters of areas [first, last); requests still in flight stay counted. */
  private clear(r: Region, first: number, last: number): void {
    const now = r.precise ? this.ns() : this.ms();
    for (let x = first; x < Math.min(last, r.areas.length); x++) {
      const old = r.areas[x]!;
      r.areas[x] = { ...newArea(r.bounds.length, now), inFlight: old.inFlight };
    }
  }

  /** dm_stat_round: io_ticks and time_in_queue grow by the time since the stamp while anything is in flight. */
  private round(r: Region, a: Area): void {
    const now = r.precise ? this.ns() : this.ms();
    const difference = now - a.stamp;
    if (difference <= 0) return;
    if (a.inFlight[READ] > 0) a.ioTicks[READ] += difference;
    if (a.inFlight[WRITE] > 0) a.ioTicks[WRITE] += difference;
    const inFlight = a.inFlight[READ] + a.inFlight[WRITE];
    if (inFlight > 0) {
      a.ioTicksTotal += difference;
      a.timeInQueue += inFlight * difference;
    }
    a.stamp = now;
  }

  /** __dm_stat_bio: each area of r the request touches, with the sectors that fall in it. */
  private forEachArea(r: Region, io: StatsIo, fn: (area: Area, len: number) => void): void {
    const endSector = io.sector + io.count;
    if (endSector <= r.start || io.sector >= r.end) return;
    const from = Math.max(io.sector, r.start);
    const to = Math.min(endSector, r.end);
    for (let s = from; s < to; ) {
      const x = Math.floor((s - r.start) / r.step);
      const areaEnd = Math.min(r.start + (x + 1) * r.step, to);
      fn(r.areas[x]!, areaEnd - s);
      s = areaEnd;
    }
  }

  private find(id: number): Region {
    const r = this.regions.find((x) => x.id === id);
    if (!r) throw new DmError('ENOENT', `no stats region ${id} (@stats_list shows the regions)`);
    return r;
  }

  /** jiffies, at the clock's millisecond. */
  private ms(): number {
    return Math.floor(this.clock.now());
  }

  /**
   * ktime_get in ns. DIFFERENCE: precise_timestamps count at the clock's resolution (a millisecond of wall time),
   * not the kernel's nanosecond clock.
   */
  private ns(): number {
    return Math.round(this.clock.now() * 1e6);
  }
}

function newArea(bins: number, now: number): Area {
  return {
    ios: [0, 0],
    merges: [0, 0],
    sectors: [0, 0],
    ticks: [0, 0],
    ioTicks: [0, 0],
    ioTicksTotal: 0,
    timeInQueue: 0,
    inFlight: [0, 0],
    histogram: bins > 0 ? new Array<number>(bins + 1).fill(0) : [],
    stamp: now,
  };
}

/** The "%d" of message_stats_delete/clear/print/set_aux: a region id >= 0. */
function regionId(word: string, invalid: () => InvalidArgumentError): number {
  if (!/^\+?\d+$/.test(word) || Number(word) > INT_MAX) throw invalid();
  return Number(word);
}

/** parse_histogram: strictly increasing boundaries above 0, separated by commas. */
function parseHistogram(text: string, invalid: () => InvalidArgumentError): number[] {
  const bounds: number[] = [];
  let last = 0;
  for (const word of text.split(',')) {
    if (!/^\d+$/.test(word)) throw invalid();
    const b = Number(word);
    if (b <= last) throw invalid();
    bounds.push(b);
    last = b;
  }
  return bounds;
}

/** dm_stat_for_entry's binary search: the histogram slot of a duration (slot i counts bounds[i-1] <= d < bounds[i]). */
function histogramSlot(bounds: readonly number[], duration: number): number {
  let lo = 0;
  let hi = bounds.length + 1;
  while (lo + 1 < hi) {
    const mid = (lo + hi) >> 1;
    if (bounds[mid - 1]! > duration) hi = mid;
    else lo = mid;
  }
  return lo;
}
