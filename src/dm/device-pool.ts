// DevicePool: the devices tables name, opened once and shared between tables (the kernel's dm_get_device /
// dm_put_device and its per-table dm_dev list), closed when the last table using them goes. Resolves
// `/dev/mapper/NAME` (and `253:MINOR`) to mapped devices, registered in-memory devices by name, and
// anything else as a file or block device path.

import { promises as fsp } from 'node:fs';
import { DmError, ExistsError, NoDeviceError } from '../base/errors.js';
import type { BlockDevice } from '../block/block-device.js';
import { FileDevice } from '../block/file-device.js';
import { MappedBlockDevice, type MappedDevice } from './mapped-device.js';
import type { DmDevice } from './target.js';

/** The block major the oracle's kernel gave device-mapper: `253:MINOR` names, `info` and `ls` use it. */
export const DM_MAJOR = 253;
/** Where mapped devices appear: tables and commands name one `/dev/mapper/NAME`. */
export const MAPPER_PREFIX = '/dev/mapper/';

/** The mapped device a table word names (`/dev/mapper/NAME` or `253:MINOR`), or undefined for any other word. */
export function mappedDeviceRef(word: string): { name: string } | { minor: number } | undefined {
  if (word.startsWith(MAPPER_PREFIX)) return { name: word.slice(MAPPER_PREFIX.length) };
  const m = /^(\d+):(\d+)$/.exec(word);
  return m && Number(m[1]) === DM_MAJOR ? { minor: Number(m[2]) } : undefined;
}

interface SharedFile {
  dev: BlockDevice;
  refs: number;
}

/** How the pool finds mapped devices; the DeviceMapper that owns it answers. */
export interface MappedDeviceLookup {
  byName(name: string): MappedDevice | undefined;
  byMinor(minor: number): MappedDevice | undefined;
}

export class DevicePool {
  private readonly backing = new Map<string, BlockDevice>();
  private readonly files = new Map<string, SharedFile>();
  private readonly mapped: MappedDeviceLookup;

  /** force: open block devices even when mounted or claimed elsewhere (FileDevice's force). */
  constructor(
    mapped: MappedDeviceLookup,
    private readonly options: { force?: boolean } = {},
  ) {
    this.mapped = mapped;
  }

  /** Registers a device (e.g. a MemoryDevice) that tables may name by `name`; the caller keeps ownership. */
  addBacking(name: string, dev: BlockDevice): void {
    if (this.backing.has(name)) throw new ExistsError(`a backing device named "${name}" is already registered`);
    if (name.startsWith(MAPPER_PREFIX))
      throw new ExistsError(`"${name}" would hide a mapped device; pick another name`);
    this.backing.set(name, dev);
  }

  /** A device set for one table being built: the same word twice gives one device; release() puts them all. */
  forTable(owner: MappedDevice): TableDevices {
    return new TableDevices(this, owner);
  }

  /** Opens or shares what `word` names, for a table of `owner`; returns the device and how to let it go. */
  async acquire(
    word: string,
    mode: 'r' | 'rw',
    owner: MappedDevice,
  ): Promise<{ dev: BlockDevice; release: () => Promise<void> }> {
    const md = this.mappedFor(word);
    if (md) {
      if (md === owner) throw new NoDeviceError(`a table may not refer to its own device (${word})`);
      if (dependsOn(md, owner))
        throw new NoDeviceError(`${word} already uses ${owner.name}: the tables would form a loop`);
      const dev = md.blockDevice('holder', word);
      return { dev, release: () => dev.close() };
    }
    const registered = this.backing.get(word);
    if (registered) {
      if (mode === 'rw' && registered.readOnly) throw new DmError('EROFS', `${word} is read-only`);
      return { dev: registered, release: async () => {} };
    }
    if (word.startsWith(MAPPER_PREFIX))
      throw new NoDeviceError(`no mapped device named "${word.slice(MAPPER_PREFIX.length)}"`);
    return this.acquireFile(word, mode);
  }

  /** Closes every shared file (after every table is gone). */
  async closeAll(): Promise<void> {
    const open = [...this.files.values()];
    this.files.clear();
    for (const f of open) await f.dev.close();
  }

  private mappedFor(word: string): MappedDevice | undefined {
    const ref = mappedDeviceRef(word);
    if (!ref) return undefined;
    return 'name' in ref ? this.mapped.byName(ref.name) : this.mapped.byMinor(ref.minor);
  }

  private async acquireFile(
    word: string,
    mode: 'r' | 'rw',
  ): Promise<{ dev: BlockDevice; release: () => Promise<void> }> {
    let key: string;
    try {
      key = await fsp.realpath(word);
    } catch (e) {
      throw new NoDeviceError(`${word}: cannot open: ${(e as Error).message}`);
    }
    let shared = this.files.get(key);
    if (!shared) {
      const dev = await FileDevice.open(word, { readOnly: mode === 'r', force: this.options.force ?? false });
      // Another table may have opened it while we waited.
      shared = this.files.get(key);
      if (shared) await dev.close();
      else {
        shared = { dev, refs: 0 };
        this.files.set(key, shared);
      }
    }
    if (mode === 'rw' && shared.dev.readOnly) {
      throw new DmError(
        'EROFS',
        `${word} is open read-only for another table; it cannot be opened for writing as well`,
      );
    }
    shared.refs++;
    const entry = shared;
    let released = false;
    return {
      dev: entry.dev,
      release: async () => {
        if (released) return;
        released = true;
        if (--entry.refs === 0 && this.files.get(key) === entry) {
          this.files.delete(key);
          await entry.dev.close();
        }
      },
    };
  }
}

/** The devices of one table: each word opened once, all released together. */
export class TableDevices {
  private readonly pool: DevicePool;
  private readonly owner: MappedDevice;
  private readonly byWord = new Map<string, Promise<DmDevice>>();
  private readonly releases: (() => Promise<void>)[] = [];

  constructor(pool: DevicePool, owner: MappedDevice) {
    this.pool = pool;
    this.owner = owner;
  }

  get(word: string, mode: 'r' | 'rw'): Promise<DmDevice> {
    let p = this.byWord.get(word);
    if (!p) {
      p = this.pool.acquire(word, mode, this.owner).then(({ dev, release }) => {
        this.releases.push(release);
        return { name: word, bdev: dev };
      });
      // A failed lookup is not remembered, so the error is reported where it happens.
      p.catch(() => this.byWord.delete(word));
      this.byWord.set(word, p);
    }
    return p;
  }

  async release(): Promise<void> {
    const all = this.releases.splice(0);
    this.byWord.clear();
    for (const r of all) await r();
  }
}

/** True when `from`'s tables (live or inactive), directly or through other mapped devices, use `target`. */
function dependsOn(from: MappedDevice, target: MappedDevice, seen = new Set<MappedDevice>()): boolean {
  if (from === target) return true;
  if (seen.has(from)) return false;
  seen.add(from);
  for (const table of [from.live, from.inactive]) {
    for (const d of table?.devices() ?? []) {
      if (d.bdev instanceof MappedBlockDevice && dependsOn(d.bdev.device, target, seen)) return true;
    }
  }
  return false;
}
