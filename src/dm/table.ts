// DmTable: one loaded table of a mapped device (dm-table.c's struct dm_table): its targets in sector order,
// the devices they hold, the kernel's load-time checks, lookup of the target for a sector, and the
// suspend/resume hooks run over every target in order.

import { setImmediate as nextTurn } from 'node:timers/promises';
import { DmError, InvalidArgumentError } from '../base/errors.js';
import { type TableDiscards, tableDiscards } from './discard-limits.js';
import { TargetArgumentError } from './dm-args.js';
import type { TableLine } from './table-line.js';
import type { TableSpecLine } from './table-parser.js';
import type { DmDevice, StatusType, Target, TargetContext, TargetType } from './target.js';

/** One target of a table: where it sits in the mapped device and what built it. */
export interface TableTarget {
  readonly begin: number;
  readonly len: number;
  readonly type: TargetType;
  readonly target: Target;
  readonly line: number;
}

/** What a table needs from its owner while it is built: the types, the devices, the rest of a TargetContext. */
export interface TableEnvironment {
  lookupType(name: string): TargetType | undefined;
  /** Opens or shares a device for this table (the same word twice in one table gives the same device). */
  getDevice(name: string, mode: 'r' | 'rw'): Promise<DmDevice>;
  /** Closes (or unshares) every device getDevice opened; runs after the targets are destroyed. */
  releaseDevices(): Promise<void>;
  /** Everything else a TargetContext carries. */
  context: Omit<TargetContext, 'begin' | 'len' | 'getDevice'>;
}

/** Targets built between two turns of the event loop, so one big table does not stall every other client. */
const TARGETS_PER_TURN = 1024;

/** Largest table the simulator can address (JavaScript's safe integers; the kernel's limit is 2^54 sectors). */
const MAX_SECTORS = BigInt(Number.MAX_SAFE_INTEGER);

export class DmTable {
  readonly targets: readonly TableTarget[];
  readonly sizeSectors: number;
  /** The queue's discard limits this table gives its device, as computed at load. */
  readonly discards: TableDiscards;
  private readonly releaseDevices: () => Promise<void>;

  private constructor(targets: TableTarget[], releaseDevices: () => Promise<void>) {
    this.targets = targets;
    this.releaseDevices = releaseDevices;
    const last = targets[targets.length - 1];
    this.sizeSectors = last ? last.begin + last.len : 0;
    this.discards = tableDiscards(targets);
  }

  /**
   * Builds a table line by line as dm_table_add_target does (zero length, size, type, adjacency, then the
   * constructor), then checks every device area is inside its device. A refusal destroys what was built and
   * throws an error naming the line, the target type, the kernel's reason and the word.
   */
  static async build(lines: readonly TableSpecLine[], env: TableEnvironment): Promise<DmTable> {
    const built: TableTarget[] = [];
    try {
      if (lines.length === 0) throw new InvalidArgumentError('the table has no targets');
      let next = 0n;
      for (const spec of lines) {
        if (built.length > 0 && built.length % TARGETS_PER_TURN === 0) await nextTurn();
        const fail = (reason: string, word?: number): never => {
          throw new InvalidArgumentError(`line ${spec.line}: ${spec.type}: ${reason}${wordNote(spec, word)}`);
        };
        if (spec.length === 0n) fail('zero-length target', 1);
        if (spec.start + spec.length > MAX_SECTORS) fail('too large device');
        const type = env.lookupType(spec.type);
        if (!type) fail('unknown target type', 2);
        // adjoin(): the first target starts at 0 and each one starts where the previous ended.
        if (spec.start !== next) fail('Gap in table', 0);
        const begin = Number(spec.start);
        const len = Number(spec.length);
        let target: Target;
        try {
          // The context's own properties keep their descriptors, so a getter (deviceName) stays live.
          const ctx = Object.defineProperties(
            { begin, len, getDevice: env.getDevice },
            Object.getOwnPropertyDescriptors(env.context),
          ) as TargetContext;
          target = await type!.create(ctx, spec.args);
        } catch (e) {
          throw constructorError(spec, e);
        }
        built.push({ begin, len, type: type!, target, line: spec.line });
        next = spec.start + spec.length;
      }
      // dm_calculate_queue_limits -> device_area_is_invalid: every area a target maps must lie inside its device.
      for (const t of built) {
        for (const area of t.target.deviceAreas?.() ?? []) {
          const size = area.device.bdev.sizeSectors;
          if (area.start + area.len > size) {
            throw new InvalidArgumentError(
              `line ${t.line}: ${t.type.name}: ${area.device.name} too small for target: start=${area.start}, len=${area.len}, dev_size=${size}`,
            );
          }
        }
      }
      return new DmTable(built, () => env.releaseDevices());
    } catch (e) {
      await destroyTargets(built);
      await env.releaseDevices();
      throw e;
    }
  }

  /** The target holding `sector` (which must be inside the table). */
  targetAt(sector: number): TableTarget {
    let lo = 0;
    let hi = this.targets.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.targets[mid]!.begin <= sector) lo = mid;
      else hi = mid - 1;
    }
    return this.targets[lo]!;
  }

  /** Status or table text of each target, in order. */
  lines(type: StatusType): Omit<TableLine, 'name'>[] {
    return this.targets.map((t) => ({
      start: t.begin,
      length: t.len,
      target: t.type.name,
      params: t.target.status(type),
    }));
  }

  /** The devices the targets use, each once (the kernel's table-wide dm_dev list). */
  devices(): DmDevice[] {
    const seen = new Map<string, DmDevice>();
    for (const t of this.targets) for (const d of t.target.devices()) if (!seen.has(d.name)) seen.set(d.name, d);
    return [...seen.values()];
  }

  async presuspend(noflush: boolean): Promise<void> {
    for (const t of this.targets) await t.target.presuspend?.({ noflush });
  }

  async postsuspend(): Promise<void> {
    for (const t of this.targets) await t.target.postsuspend?.();
  }

  /** dm_table_resume_targets: every preresume first (any failure stops the resume), then every resume. */
  async resumeTargets(): Promise<void> {
    for (const t of this.targets) await t.target.preresume?.();
    for (const t of this.targets) await t.target.resume?.();
  }

  async destroy(): Promise<void> {
    await destroyTargets(this.targets);
    await this.releaseDevices();
  }
}

async function destroyTargets(targets: readonly TableTarget[]): Promise<void> {
  for (const t of [...targets].reverse()) await t.target.destroy();
}

/** ` (word N: "w")` for a 0-based index into the line's words, or nothing. */
function wordNote(spec: TableSpecLine, word: number | undefined): string {
  if (word === undefined || spec.words[word] === undefined) return '';
  return ` (word ${word + 1}: "${spec.words[word]}")`;
}

/** A constructor's refusal as the table's error: the line, the type, the kernel's text, the word, any detail. */
function constructorError(spec: TableSpecLine, e: unknown): Error {
  if (!(e instanceof DmError)) return e instanceof Error ? e : new Error(String(e));
  const argIndex = e instanceof TargetArgumentError ? e.argIndex : undefined;
  const detail = e instanceof TargetArgumentError && e.detail ? `: ${e.detail}` : '';
  const message = `line ${spec.line}: ${spec.type}: ${e.message}${detail}${wordNote(spec, argIndex === undefined ? undefined : argIndex + 3)}`;
  return e.code === 'EINVAL' ? new InvalidArgumentError(message) : new DmError(e.code, message);
}
