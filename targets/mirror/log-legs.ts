// Which legs each disk log was last live with, to warn about the old-log footgun: a mirror table that reuses a
// disk log with a leg the log has never described (a repair that swaps a failed leg for a fresh, zeroed one and
// keeps the old log) trusts the log's in-sync bits, so the new leg is never resynced and status shows 16/16 AA
// over a leg of zeros. The kernel does the same silently (dm-log.c reads the bits as they are); warning is a
// dmsim extension (DESIGN.md "where to be better").
//
// The rule: when a mirror table with a disk log and the default sync mode is loaded, and that log device was
// last live (resumed) in this DeviceMapper with a set of legs, a leg of the new table that is not in that set
// (another device, or the same device at another offset) makes the mirror emit a `dm.warning`. `sync` (resync everything) and
// `nosync` (the user vouches the legs are identical) are explicit and get none; fewer legs (a leg dropped) get
// none, since the remaining legs were in sync. Devices are told apart by what they are, not by the word the
// table used: a file by its device and inode numbers and birth time (a file deleted and made again is a new leg,
// even when it gets the inode back; on a file system without birth times a reused inode is missed), a mapped
// device or an in-memory device by its object (a mapped device removed and created again is a new leg). The
// memory lasts as long as the DeviceMapper: a daemon restart learns again from the tables it re-activates.

import { promises as fsp } from 'node:fs';
import { FileDevice } from '../../src/block/file-device.js';
import type { DmDevice } from '../../src/dm/target.js';

interface LegsSeen {
  keys: Set<string>;
}

const objectIds = new WeakMap<object, number>();
let nextObjectId = 1;

/** What a device is, whatever word the table used for it. */
async function identity(dev: DmDevice): Promise<string> {
  const bdev = dev.bdev as unknown as { device?: object };
  if (dev.bdev instanceof FileDevice) {
    const st = await fsp.stat(dev.bdev.path).catch(() => null);
    if (st) return `file:${st.dev}:${st.ino}:${st.birthtimeMs}`;
  }
  // A MappedBlockDevice is a fresh handle per table: the mapped device behind it is what persists.
  const obj = bdev.device ?? dev.bdev;
  let id = objectIds.get(obj);
  if (id === undefined) {
    id = nextObjectId++;
    objectIds.set(obj, id);
  }
  return `object:${id}`;
}

async function legKeys(legs: readonly { dev: DmDevice; offset: number }[]): Promise<string[]> {
  return Promise.all(legs.map(async (l) => `${await identity(l.dev)}@${l.offset}`));
}

/** One DeviceMapper's memory of which legs each disk log was last live with. */
export class LogLegsRegistry {
  private readonly seen = new Map<string, LegsSeen>();

  /**
   * The legs of a table about to be loaded that the log has not described (their table words), or [] when the
   * log is new to this DeviceMapper or every leg was live with it before.
   */
  async unseenLegs(logDev: DmDevice, legs: readonly { dev: DmDevice; offset: number }[]): Promise<string[]> {
    const before = this.seen.get(await identity(logDev));
    if (!before) return [];
    const keys = await legKeys(legs);
    return legs.filter((_, i) => !before.keys.has(keys[i]!)).map((l) => l.dev.name);
  }

  /** The table went live: from now on its log describes these legs. */
  async recordLive(logDev: DmDevice, legs: readonly { dev: DmDevice; offset: number }[]): Promise<void> {
    this.seen.set(await identity(logDev), { keys: new Set(await legKeys(legs)) });
  }
}

const registries = new WeakMap<object, LogLegsRegistry>();

/** The registry of the DeviceMapper a table is loaded into (keyed by its kcopyd environment, one per mapper). */
export function logLegsFor(scope: object): LogLegsRegistry {
  let r = registries.get(scope);
  if (!r) {
    r = new LogLegsRegistry();
    registries.set(scope, r);
  }
  return r;
}
