// DirtyLog: the mirror's dirty region log interface (include/linux/dm-dirty-log.h, struct dm_dirty_log_type),
// plus the argument parsing core and disk logs share (dm-log.c create_log_context).

import { parseUintArg, TargetArgumentError } from '../../src/dm/dm-args.js';
import type { DmDevice } from '../../src/dm/target.js';
import type { MirrorLogStatus, MirrorLogTable, SyncMode } from './status.js';

export interface DirtyLog {
  readonly typeName: 'core' | 'disk';
  readonly regionSize: number;
  readonly regionCount: number;
  /** Reloads state at activation (disk: reads and rewrites the on-disk log; core: resets the resync cursor). */
  resume(): Promise<void>;
  /** After the mirror has drained (disk: flushes the bits). */
  postsuspend(): Promise<void>;
  isClean(region: number): boolean;
  inSync(region: number): boolean;
  /** Persists the bits; rejects if the log could not be written (the mirror then sets log_failure). */
  flush(): Promise<void>;
  /** The region may have writes in flight (clears its clean bit). */
  markRegion(region: number): void;
  /** The region's writes are done and durable on every leg (sets its clean bit). */
  clearRegion(region: number): void;
  /** The next region to resync at or after the cursor, marked recovering; null when the cursor reached the end. */
  getResyncWork(): number | null;
  setRegionSync(region: number, inSync: boolean): void;
  getSyncCount(): number;
  /** The log's part of the mirror's status line: `1 core` / `3 disk <dev> <A|D|F>`. */
  statusFields(): MirrorLogStatus;
  /** The log's part of the mirror's table line. */
  tableFields(): MirrorLogTable;
  devices(): DmDevice[];
}

/** What the log needs from the mirror that owns it. */
export interface DirtyLogOwner {
  /** Length of the mirror target in sectors. */
  readonly targetLen: number;
  /** The kernel's flush_callback_fn (mirror_flush): an empty flush to every leg; false if any leg failed. */
  flushLegs(): Promise<boolean>;
  /** dm_table_event. */
  raiseEvent(): void;
}

export interface LogArgs {
  regionSize: number;
  sync: SyncMode;
}

/**
 * `<region_size> [sync|nosync]` as create_log_context checks it. The kernel logs the precise reason and the
 * mirror reports "Error creating mirror dirty log"; dmsim keeps the reason as the error's detail.
 * `firstArg` is the index of `args[0]` among the target's arguments (to name the bad word).
 */
export function parseLogArgs(args: string[], targetLen: number, firstArg: number): LogArgs {
  const fail = (why: string, at?: number): never => {
    throw new TargetArgumentError('Error creating mirror dirty log', at, why);
  };
  if (args.length < 1 || args.length > 2) fail('wrong number of arguments to dirty region log', firstArg - 1);
  let sync: SyncMode = 'default';
  if (args.length > 1) {
    if (args[1] === 'sync') sync = 'sync';
    else if (args[1] === 'nosync') sync = 'nosync';
    else fail(`unrecognised sync argument to dirty region log: ${args[1]}`, firstArg + 1);
  }
  const regionSize = parseUintArg(args[0]);
  if (regionSize === undefined || regionSize < 2 || regionSize > targetLen || (regionSize & (regionSize - 1)) !== 0) {
    fail(
      `invalid region size ${args[0]} (a power of 2, at least 2 and at most the target length ${targetLen})`,
      firstArg,
    );
  }
  return { regionSize: regionSize!, sync };
}
