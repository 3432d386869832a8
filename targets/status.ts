// Typed status and table lines for every built-in target: one entry, parseTargetStatus / parseTargetTable, over
// the parser module of each target family (snapshot/status.ts, mirror/status.ts, flakey-status.ts,
// delay-status.ts), and the way back, formatTargetStatus / formatTargetTable, which give the kernel's words again.
// The library, the TUI, the scenario runner and the CLI's --json all read status through here.
//
// linear, zero and error are simple enough to live here: linear's table is `<dev> <offset>` (dm-linear.c), zero
// and error print nothing, and none of the three (nor flakey, nor snapshot-origin) has any STATUSTYPE_INFO text.
// A target type dmsim does not know (thin, or one an embedder registered) has no typed form: undefined.

import { InvalidArgumentError } from '../src/base/errors.js';
import type { TableLine } from '../src/dm/table-line.js';
import {
  type DelayStatus,
  type DelayTableParams,
  formatDelayStatus,
  formatDelayTable,
  parseDelayStatus,
  parseDelayTable,
} from './delay-status.js';
import { type FlakeyTableParams, formatFlakeyTable, parseFlakeyTable } from './flakey-status.js';
import {
  formatMirrorStatus,
  formatMirrorTable,
  type MirrorStatus,
  type MirrorTableParams,
  parseMirrorStatus,
  parseMirrorTable,
} from './mirror/status.js';
import {
  formatOriginTable,
  formatSnapshotStatus,
  formatSnapshotTable,
  type OriginTableParams,
  parseOriginTable,
  parseSnapshotStatus,
  parseSnapshotTable,
  type SnapshotStatus,
  type SnapshotTableParams,
} from './snapshot/status.js';

/** Targets whose status line is empty. */
type SilentTarget = 'linear' | 'zero' | 'error' | 'flakey' | 'snapshot-origin';

/** A target's STATUSTYPE_INFO line (`dmsetup status`), typed; `target` says which form it has. */
export type TargetStatus =
  | ({ target: 'snapshot' | 'snapshot-merge' } & SnapshotStatus)
  | ({ target: 'mirror' } & MirrorStatus)
  | ({ target: 'delay' } & DelayStatus)
  | { target: SilentTarget };

/** A target's STATUSTYPE_TABLE line (`dmsetup table`), typed; `target` says which form it has. */
export type TargetTable =
  | ({ target: 'snapshot' | 'snapshot-merge' } & SnapshotTableParams)
  | ({ target: 'snapshot-origin' } & OriginTableParams)
  | ({ target: 'mirror' } & MirrorTableParams)
  | ({ target: 'flakey' } & FlakeyTableParams)
  | ({ target: 'delay' } & DelayTableParams)
  | { target: 'linear'; device: string; offset: number }
  | { target: 'zero' | 'error' };

const SILENT: readonly string[] = ['linear', 'zero', 'error', 'flakey', 'snapshot-origin'] satisfies SilentTarget[];

/**
 * The typed form of a status line's params (the text after the target type), or undefined for a target type
 * without one. Throws InvalidArgumentError when the words are not what that target prints.
 */
export function parseTargetStatus(target: string, params: string): TargetStatus | undefined {
  switch (target) {
    case 'snapshot':
    case 'snapshot-merge':
      return { target, ...parseSnapshotStatus(params) };
    case 'mirror':
      return { target, ...parseMirrorStatus(params) };
    case 'delay':
      return { target, ...parseDelayStatus(params) };
  }
  if (!SILENT.includes(target)) return undefined;
  if (params.trim() !== '') throw new InvalidArgumentError(`a ${target} target has no status words, got "${params}"`);
  return { target: target as SilentTarget };
}

export function formatTargetStatus(s: TargetStatus): string {
  switch (s.target) {
    case 'snapshot':
    case 'snapshot-merge':
      return formatSnapshotStatus(s);
    case 'mirror':
      return formatMirrorStatus(s);
    case 'delay':
      return formatDelayStatus(s);
    default:
      return '';
  }
}

/** The typed form of a table line's params, or undefined for a target type without one. */
export function parseTargetTable(target: string, params: string): TargetTable | undefined {
  switch (target) {
    case 'snapshot':
    case 'snapshot-merge':
      return { target, ...parseSnapshotTable(params) };
    case 'snapshot-origin':
      return { target, ...parseOriginTable(params) };
    case 'mirror':
      return { target, ...parseMirrorTable(params) };
    case 'flakey':
      return { target, ...parseFlakeyTable(params) };
    case 'delay':
      return { target, ...parseDelayTable(params) };
    case 'linear': {
      const m = /^(\S+) (\d+)$/.exec(params.trim());
      if (!m) throw new InvalidArgumentError(`not a linear table line: "${params}" (expected <dev> <offset>)`);
      return { target, device: m[1]!, offset: Number(m[2]) };
    }
    case 'zero':
    case 'error':
      return { target };
    default:
      return undefined;
  }
}

export function formatTargetTable(t: TargetTable): string {
  switch (t.target) {
    case 'snapshot':
    case 'snapshot-merge':
      return formatSnapshotTable(t);
    case 'snapshot-origin':
      return formatOriginTable(t);
    case 'mirror':
      return formatMirrorTable(t);
    case 'flakey':
      return formatFlakeyTable(t);
    case 'delay':
      return formatDelayTable(t);
    case 'linear':
      return formatLinearTable(t);
    case 'zero':
    case 'error':
      return '';
  }
}

/** linear's STATUSTYPE_TABLE (dm-linear.c linear_status). */
export function formatLinearTable(t: { device: string; offset: number }): string {
  return `${t.device} ${t.offset}`;
}

/** The devices a table line names, as it names them: the legs and log of a mirror, a snapshot's origin and COW. */
export function tableDevices(t: TargetTable): string[] {
  switch (t.target) {
    case 'snapshot':
    case 'snapshot-merge':
      return [t.origin, t.cow];
    case 'snapshot-origin':
      return [t.origin];
    case 'mirror':
      return [...(t.log.type === 'disk' ? [t.log.device] : []), ...t.legs.map((l) => l.device)];
    case 'flakey':
    case 'linear':
      return [t.device];
    case 'delay':
      return [...new Set(t.classes.map((c) => c.device))];
    case 'zero':
    case 'error':
      return [];
  }
}

/** A `dmsetup status` line with its typed form (absent for a target type without one, such as thin). */
export interface StatusLine extends TableLine {
  parsed?: TargetStatus;
}

/** A `dmsetup table` line with its typed form (absent for a target type without one). */
export interface TypedTableLine extends TableLine {
  parsed?: TargetTable;
}

/** Adds the typed form to each status line, as the library and the daemon return them. */
export function withParsedStatus(lines: readonly TableLine[]): StatusLine[] {
  return lines.map((l) => {
    const parsed = parseTargetStatus(l.target, l.params);
    return parsed ? { ...l, parsed } : { ...l };
  });
}

/** Adds the typed form to each table line, as the library and the daemon return them. */
export function withParsedTable(lines: readonly TableLine[]): TypedTableLine[] {
  return lines.map((l) => {
    const parsed = parseTargetTable(l.target, l.params);
    return parsed ? { ...l, parsed } : { ...l };
  });
}
