// Reads the kernel's table and status text of a device into view fields (dm-snap.c snapshot_status,
// dm-raid1.c mirror_status). Used for the initial snapshot of state and after a table is loaded.

import type { MirrorView, SnapshotView } from './view-state.js';

/** One line of `dmsetup table` / `status` text read back into words: `<start> <len> <target> <args...>`. */
interface TableLineWords {
  start: number;
  length: number;
  target: string;
  args: string[];
}

export function parseTableLines(text: string): TableLineWords[] {
  const out: TableLineWords[] = [];
  for (const line of text.split('\n')) {
    const words = line
      .trim()
      .split(/\s+/)
      .filter((w) => w.length > 0);
    if (words.length < 3) continue;
    const start = Number(words[0]);
    const length = Number(words[1]);
    if (!Number.isSafeInteger(start) || !Number.isSafeInteger(length)) continue;
    out.push({ start, length, target: words[2]!, args: words.slice(3) });
  }
  return out;
}

/** Words of a table line that name devices: /dev/... paths, files, and anything a target uses as a device. */
export function usedDevices(line: TableLineWords): string[] {
  const a = line.args;
  switch (line.target) {
    case 'linear':
    case 'flakey':
    case 'snapshot-origin':
      return a.slice(0, 1);
    case 'delay':
      return [a[0], a[3], a[6]].filter((d): d is string => d !== undefined);
    case 'snapshot':
    case 'snapshot-merge':
      return a.slice(0, 2);
    case 'mirror': {
      const m = mirrorTable(a);
      return m ? [...(m.logDev ? [m.logDev] : []), ...m.legs] : [];
    }
    default:
      return [];
  }
}

interface MirrorTable {
  logType: string;
  logDev?: string;
  regionSectors: number;
  legs: string[];
}

/** `mirror <log_type> <#log_args> <log_args...> <#mirrors> <dev> <offset>... [features]`. */
function mirrorTable(args: string[]): MirrorTable | undefined {
  const logType = args[0];
  const nLog = Number(args[1]);
  if (!logType || !Number.isSafeInteger(nLog)) return undefined;
  const logArgs = args.slice(2, 2 + nLog);
  const logDev = logType === 'disk' ? logArgs[0] : undefined;
  const regionSectors = Number(logType === 'disk' ? logArgs[1] : logArgs[0]);
  const nLegs = Number(args[2 + nLog]);
  if (!Number.isSafeInteger(nLegs)) return undefined;
  const legs: string[] = [];
  for (let i = 0; i < nLegs; i++) {
    const dev = args[3 + nLog + 2 * i];
    if (dev !== undefined) legs.push(dev);
  }
  return {
    logType,
    ...(logDev ? { logDev } : {}),
    regionSectors: Number.isFinite(regionSectors) ? regionSectors : 0,
    legs,
  };
}

/** A snapshot's table args and status text: `<alloc>/<total> <meta>`, `Invalid`, `Overflow`, `Merge failed`. */
export function snapshotFromStatus(tableArgs: string[], status: string, merging: boolean): SnapshotView {
  const s = status.trim();
  const m = /^(\d+)\/(\d+) (\d+)$/.exec(s);
  return {
    allocated: m ? Number(m[1]) : 0,
    total: m ? Number(m[2]) : 0,
    metadata: m ? Number(m[3]) : 0,
    invalid: s === 'Invalid',
    overflow: s === 'Overflow',
    mergeFailed: s === 'Merge failed',
    merging,
    origin: tableArgs[0] ?? '',
    chunkSectors: Number(tableArgs[3] ?? 0) || 0,
  };
}

/** A mirror's table args and status: `<#mirrors> <dev>... <insync>/<regions> 1 <health> <log status...>`. */
export function mirrorFromStatus(tableArgs: string[], status: string): MirrorView | undefined {
  const table = mirrorTable(tableArgs);
  const w = status.trim().split(/\s+/);
  const n = Number(w[0]);
  if (!table || !Number.isSafeInteger(n)) return undefined;
  const ratio = /^(\d+)\/(\d+)$/.exec(w[1 + n] ?? '');
  const health = w[3 + n] ?? '';
  return {
    legs: table.legs,
    inSync: ratio ? Number(ratio[1]) : 0,
    regions: ratio ? Number(ratio[2]) : 0,
    health,
    primary: 0,
    log: w.slice(4 + n).join(' '),
    regionSectors: table.regionSectors,
  };
}
