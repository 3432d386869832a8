// Reads the table and status text of a device into view fields, through the shared typed parsers
// (targets/status.ts: dm-snap.c snapshot_status, dm-raid1.c mirror_status). Used for the initial snapshot of
// state and after a table is loaded. A line the parsers refuse gives no view fields rather than a crash.

import type { TableLine } from '../../src/dm/table-line.js';
import { formatMirrorLogStatus, type MirrorStatus, type MirrorTableParams } from '../../targets/mirror/status.js';
import type { SnapshotStatus, SnapshotTableParams } from '../../targets/snapshot/status.js';
import {
  parseTargetStatus,
  parseTargetTable,
  type TargetStatus,
  type TargetTable,
  tableDevices,
} from '../../targets/status.js';
import type { MirrorView, SnapshotView } from './view-state.js';

/** One line of one device's `dmsetup table` / `status` text: `<start> <len> <target> <params>`, no name. */
export type DeviceTableLine = Omit<TableLine, 'name'>;

export function parseTableLines(text: string): DeviceTableLine[] {
  const out: DeviceTableLine[] = [];
  for (const line of text.split('\n')) {
    const m = /^\s*(\d+)\s+(\d+)\s+(\S+)\s?(.*)$/.exec(line);
    if (!m) continue;
    const start = Number(m[1]);
    const length = Number(m[2]);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(length)) continue;
    out.push({ start, length, target: m[3]!, params: m[4]! });
  }
  return out;
}

/** The typed table of a line, or undefined when the target has no typed form or the words do not parse. */
export function typedTable(line: DeviceTableLine): TargetTable | undefined {
  try {
    return parseTargetTable(line.target, line.params);
  } catch {
    return undefined;
  }
}

/** The typed status of a line, or undefined when the target has no typed form or the words do not parse. */
export function typedStatus(line: DeviceTableLine): TargetStatus | undefined {
  try {
    return parseTargetStatus(line.target, line.params);
  } catch {
    return undefined;
  }
}

/** Words of a table line that name devices: /dev/... paths, files, mapped-device names. */
export function usedDevices(line: DeviceTableLine): string[] {
  const t = typedTable(line);
  return t ? tableDevices(t) : [];
}

/** A snapshot's table and status (none yet: zeros): `<alloc>/<total> <meta>`, `Invalid`, `Overflow`, `Merge failed`. */
export function snapshotView(
  table: SnapshotTableParams,
  status: SnapshotStatus | undefined,
  merging: boolean,
): SnapshotView {
  const usage = status?.state === 'active' ? status : undefined;
  return {
    allocated: usage?.allocatedSectors ?? 0,
    total: usage?.totalSectors ?? 0,
    metadata: usage?.metadataSectors ?? 0,
    invalid: status?.state === 'invalid',
    overflow: status?.state === 'overflow',
    mergeFailed: status?.state === 'merge-failed',
    merging,
    origin: table.origin,
    cow: table.cow,
    chunkSectors: table.chunkSectors,
  };
}

/** A mirror's table and status: legs, in-sync/total regions, health letters, the log's status words. */
export function mirrorView(table: MirrorTableParams, status: MirrorStatus): MirrorView {
  return {
    legs: table.legs.map((l) => l.device),
    inSync: status.inSyncRegions,
    regions: status.totalRegions,
    health: status.legs.map((l) => l.health).join(''),
    primary: 0,
    log: formatMirrorLogStatus(status.log),
    regionSectors: table.log.regionSectors,
  };
}
