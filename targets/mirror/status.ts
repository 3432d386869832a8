// The mirror's status and table parameters as typed objects, and back (dm-raid1.c mirror_status, dm-log.c
// core_status / disk_status; libdm's dm_get_status_mirror reads the same words). The mirror and its dirty logs
// print through the format functions, so what they print and what users parse is one rule.
//
// STATUSTYPE_INFO:  `<#legs> <dev>... <in_sync>/<regions> 1 <health letter per leg> <log status>`, the log status
//                   being `1 core` or `3 disk <log_dev> <A|D|F>`.
// STATUSTYPE_TABLE: `<core|disk> <#log args> [<log_dev>] <region_size> [sync|nosync] <#legs> (<dev> <offset>)...
//                   [<n> handle_errors keep_log]`; the sync word only if the table gave one, features in that order.

import { InvalidArgumentError } from '../../src/base/errors.js';

/** DEFAULTSYNC: synchronise if necessary; NOSYNC: legs known identical; FORCESYNC: resync everything. */
export type SyncMode = 'default' | 'nosync' | 'sync';

/** A leg's health letter: A alive, D write failed, S sync failed, R read failed, U unclassified, F flush failed. */
export type LegHealth = 'A' | 'D' | 'S' | 'R' | 'U' | 'F';

/** A: alive; D: an I/O to the log failed; F: a flush of the log device failed. */
export type LogHealth = 'A' | 'D' | 'F';

export type MirrorLogStatus = { type: 'core' } | { type: 'disk'; device: string; health: LogHealth };

export interface MirrorStatus {
  /** Each leg with its health letter. */
  legs: { device: string; health: LegHealth }[];
  inSyncRegions: number;
  totalRegions: number;
  log: MirrorLogStatus;
}

export type MirrorLogTable =
  | { type: 'core'; regionSectors: number; sync: SyncMode }
  | { type: 'disk'; device: string; regionSectors: number; sync: SyncMode };

export interface MirrorTableParams {
  log: MirrorLogTable;
  legs: { device: string; offset: number }[];
  handleErrors: boolean;
  keepLog: boolean;
}

const LEG_HEALTH = /^[ADSRUF]+$/;

function fail(type: string, params: string, why: string): never {
  throw new InvalidArgumentError(`not a mirror ${type} line: "${params}" (${why})`);
}

function count(word: string | undefined): number | undefined {
  return word !== undefined && /^\d+$/.test(word) ? Number(word) : undefined;
}

export function parseMirrorStatus(params: string): MirrorStatus {
  const w = params.trim().split(/\s+/);
  const n = count(w[0]);
  if (n === undefined || n < 1) fail('status', params, 'expected <#legs> first');
  const ratio = /^(\d+)\/(\d+)$/.exec(w[1 + n] ?? '');
  if (!ratio) fail('status', params, 'expected <in_sync>/<regions> after the legs');
  const health = w[3 + n] ?? '';
  if (w[2 + n] !== '1' || health.length !== n || !LEG_HEALTH.test(health))
    fail('status', params, `expected "1" and ${n} health letters`);
  const logWords = w.slice(4 + n);
  let log: MirrorLogStatus;
  if (logWords.join(' ') === '1 core') log = { type: 'core' };
  else if (logWords.length === 4 && logWords[0] === '3' && logWords[1] === 'disk' && /^[ADF]$/.test(logWords[3]!))
    log = { type: 'disk', device: logWords[2]!, health: logWords[3] as LogHealth };
  else fail('status', params, 'expected the log status "1 core" or "3 disk <dev> <A|D|F>"');
  return {
    legs: w.slice(1, 1 + n).map((device, i) => ({ device, health: health[i] as LegHealth })),
    inSyncRegions: Number(ratio[1]),
    totalRegions: Number(ratio[2]),
    log,
  };
}

/** The dirty log's part of the status line (core_status / disk_status, STATUSTYPE_INFO). */
export function formatMirrorLogStatus(log: MirrorLogStatus): string {
  return log.type === 'core' ? '1 core' : `3 disk ${log.device} ${log.health}`;
}

export function formatMirrorStatus(s: MirrorStatus): string {
  const devices = s.legs.map((l) => l.device).join(' ');
  const health = s.legs.map((l) => l.health).join('');
  return `${s.legs.length} ${devices} ${s.inSyncRegions}/${s.totalRegions} 1 ${health} ${formatMirrorLogStatus(s.log)}`;
}

/** Every region is in sync: the resync is over (the kernel raises its dm event the first time this holds). */
export function isMirrorInSync(s: MirrorStatus): boolean {
  return s.inSyncRegions === s.totalRegions;
}

export function parseMirrorTable(params: string): MirrorTableParams {
  const w = params.trim().split(/\s+/);
  const nLog = count(w[1]);
  if ((w[0] !== 'core' && w[0] !== 'disk') || nLog === undefined)
    fail('table', params, 'expected core or disk and a count');
  const logArgs = w.slice(2, 2 + nLog);
  const disk = w[0] === 'disk';
  const regionSectors = count(logArgs[disk ? 1 : 0]);
  const syncWord = logArgs[disk ? 2 : 1];
  if (regionSectors === undefined || logArgs.length !== nLog || nLog !== (disk ? 2 : 1) + (syncWord ? 1 : 0))
    fail('table', params, 'log arguments');
  if (syncWord !== undefined && syncWord !== 'sync' && syncWord !== 'nosync') fail('table', params, 'sync word');
  const sync: SyncMode = syncWord ?? 'default';
  const log: MirrorLogTable = disk
    ? { type: 'disk', device: logArgs[0]!, regionSectors, sync }
    : { type: 'core', regionSectors, sync };
  let i = 2 + nLog;
  const nLegs = count(w[i++]);
  if (nLegs === undefined) fail('table', params, 'leg count');
  const legs: MirrorTableParams['legs'] = [];
  for (let l = 0; l < nLegs; l++, i += 2) {
    const offset = count(w[i + 1]);
    if (w[i] === undefined || offset === undefined) fail('table', params, `leg ${l}`);
    legs.push({ device: w[i]!, offset });
  }
  const features = i < w.length ? w.slice(i + 1) : [];
  if (i < w.length && count(w[i]) !== features.length) fail('table', params, 'feature count');
  return { log, legs, handleErrors: features.includes('handle_errors'), keepLog: features.includes('keep_log') };
}

/** The dirty log's part of the table line, without the space that follows it (core_status / disk_status). */
function formatMirrorLogTable(log: MirrorLogTable): string {
  const sync = log.sync === 'default' ? [] : [log.sync];
  const args = [...(log.type === 'disk' ? [log.device] : []), String(log.regionSectors), ...sync];
  return `${log.type} ${args.length} ${args.join(' ')}`;
}

export function formatMirrorTable(t: MirrorTableParams): string {
  let s = `${formatMirrorLogTable(t.log)} ${t.legs.length}`;
  for (const l of t.legs) s += ` ${l.device} ${l.offset}`;
  const features = [t.handleErrors ? 'handle_errors' : '', t.keepLog ? 'keep_log' : ''].filter(Boolean);
  if (features.length > 0) s += ` ${features.length} ${features.join(' ')}`;
  return s;
}
