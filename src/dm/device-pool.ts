// DevicePool: the devices tables name, opened once and shared between tables (the kernel's dm_get_device /
// dm_put_device and its per-table dm_dev list), closed when the last table using them goes. Binds each word
// once, when the table is loaded, as dm_get_device does: `/dev/mapper/NAME` and `253:MINOR` to mapped devices,
// other `MAJOR:MINOR` numbers to the host's block devices, registered in-memory devices by name, and anything
// else to a file or block device path (a relative one against the directory the client stands in).

import { promises as fsp } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';
import { DmError, ExistsError, InvalidArgumentError, NoDeviceError } from '../base/errors.js';
import type { BlockDevice } from '../block/block-device.js';
import { FileDevice } from '../block/file-device.js';
import { NoSuchDeviceNumberError } from './dm-args.js';
import { MappedBlockDevice, type MappedDevice } from './mapped-device.js';
import { dependsOn, depthAbove, depthBelow, MAX_STACK_DEPTH } from './stack-depth.js';
import type { DmDevice } from './target.js';

/** The block major the oracle's kernel gave device-mapper: `253:MINOR` names, `info` and `ls` use it. */
export const DM_MAJOR = 253;
export const MAPPER_PREFIX = '/dev/mapper/';
/** dm_get_dev_t's `%u:%u`: a device named by its number, never a path. */
const DEVICE_NUMBER = /^(\d+):(\d+)$/;

/** How a table's device words are bound, once, when the table is loaded. */
export interface BindOptions {
  /**
   * The directory a relative path is relative to: the client's, which only the client knows. Absent: this
   * process's own (the library's caller is the client); null: there is none, and a relative path is refused.
   */
  cwd?: string | null;
  /** Bindings made earlier and replayed (a restart): word -> absolute path or /dev/mapper/NAME it was bound to. */
  bindings?: Readonly<Record<string, string>>;
}

interface Acquired {
  dev: BlockDevice;
  /** The word as status and table lines print it. */
  name: string;
  /** What the word was bound to (absent for registered devices). */
  boundTo?: string;
  release: () => Promise<void>;
}

interface SharedFile {
  dev: BlockDevice;
  refs: number;
}

/** How the pool finds mapped devices; the DeviceMapper that owns it answers. */
export interface MappedDeviceLookup {
  byName(name: string): MappedDevice | undefined;
  byMinor(minor: number): MappedDevice | undefined;
  all(): Iterable<MappedDevice>;
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
  forTable(owner: MappedDevice, bind: BindOptions = {}): TableDevices {
    return new TableDevices(this, owner, bind);
  }

  /** Binds and opens (or shares) what `word` names, for a table of `owner`; returns the device and how to let it go. */
  async acquire(word: string, mode: 'r' | 'rw', owner: MappedDevice, bind: BindOptions = {}): Promise<Acquired> {
    const bound = bind.bindings && Object.hasOwn(bind.bindings, word) ? bind.bindings[word]! : word;
    const number = DEVICE_NUMBER.exec(bound);
    if (bound.startsWith(MAPPER_PREFIX) || (number && Number(number[1]) === DM_MAJOR)) {
      const md = number
        ? this.mapped.byMinor(Number(number[2]))
        : this.mapped.byName(bound.slice(MAPPER_PREFIX.length));
      if (!md) {
        if (number) throw new NoSuchDeviceNumberError(word);
        throw new NoDeviceError(
          `no mapped device named "${bound.slice(MAPPER_PREFIX.length)}"${bound === word ? '' : ` (${word} was bound to it)`}`,
        );
      }
      if (md === owner) throw new NoDeviceError(`a table may not refer to its own device (${word})`);
      if (dependsOn(md, owner))
        throw new NoDeviceError(`${word} already uses ${owner.name}: the tables would form a loop`);
      this.checkDepth(word, md, owner);
      // A number names the device, not the word: printed as the device's number now (the kernel prints MAJOR:MINOR).
      const name = DEVICE_NUMBER.test(word) ? `${DM_MAJOR}:${md.minor}` : word;
      const dev = md.blockDevice('holder', name);
      return { dev, name, boundTo: `${MAPPER_PREFIX}${md.name}`, release: () => dev.close() };
    }
    const registered = bound === word ? this.backing.get(word) : undefined;
    if (registered) {
      if (mode === 'rw' && registered.readOnly) throw new DmError('EROFS', `${word} is read-only`);
      return { dev: registered, name: word, release: async () => {} };
    }
    const path = number ? await hostDeviceNode(word, bound) : absolutePath(word, bound, bind.cwd);
    return { ...(await this.acquireFile(path, mode)), name: word, boundTo: path };
  }

  /** Closes every shared file (after every table is gone). */
  async closeAll(): Promise<void> {
    const open = [...this.files.values()];
    this.files.clear();
    for (const f of open) await f.dev.close();
  }

  /** Refuses a table of owner over md when the chain through them would be deeper than MAX_STACK_DEPTH. */
  private checkDepth(word: string, md: MappedDevice, owner: MappedDevice): void {
    const below = depthBelow(md);
    // Reloading a device that others stack on deepens their chains too.
    const above = owner.openCount > 0 ? depthAbove(owner, this.mapped.all()) : 0;
    const total = below + 1 + above;
    if (total <= MAX_STACK_DEPTH) return;
    const onTop = above > 0 ? ` and the ${above} stacked on it` : '';
    throw new InvalidArgumentError(
      `${word} heads a stack of ${below} mapped device(s); ${owner.name} over it${onTop} would make ${total}, and a stack may be at most ${MAX_STACK_DEPTH} deep`,
    );
  }

  private async acquireFile(
    path: string,
    mode: 'r' | 'rw',
  ): Promise<{ dev: BlockDevice; release: () => Promise<void> }> {
    let key: string;
    try {
      key = await fsp.realpath(path);
    } catch (e) {
      throw new NoDeviceError(`${path}: cannot open: ${(e as Error).message}`);
    }
    let shared = this.files.get(key);
    if (!shared) {
      const dev = await FileDevice.open(path, { readOnly: mode === 'r', force: this.options.force ?? false });
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
        `${path} is open read-only for another table; it cannot be opened for writing as well`,
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
  private readonly bind: BindOptions;
  private readonly byWord = new Map<string, Promise<DmDevice>>();
  private readonly releases: (() => Promise<void>)[] = [];

  constructor(pool: DevicePool, owner: MappedDevice, bind: BindOptions) {
    this.pool = pool;
    this.owner = owner;
    this.bind = bind;
  }

  get(word: string, mode: 'r' | 'rw'): Promise<DmDevice> {
    let p = this.byWord.get(word);
    if (!p) {
      p = this.pool.acquire(word, mode, this.owner, this.bind).then(({ dev, name, boundTo, release }): DmDevice => {
        this.releases.push(release);
        // A mapped device is bound to the device, not its name (the kernel holds its dev_t): after a rename a
        // /dev/mapper/OLD word prints, and is recorded, as /dev/mapper/NEW.
        if (dev instanceof MappedBlockDevice) {
          const byName = name.startsWith(MAPPER_PREFIX);
          return {
            get name() {
              return byName ? `${MAPPER_PREFIX}${dev.device.name}` : name;
            },
            bdev: dev,
            get boundTo() {
              return `${MAPPER_PREFIX}${dev.device.name}`;
            },
          };
        }
        return boundTo === undefined ? { name, bdev: dev } : { name, bdev: dev, boundTo };
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

/** A path word as an absolute path: as given, or against the client's directory. */
function absolutePath(word: string, bound: string, cwd: string | null | undefined): string {
  if (isAbsolute(bound)) return bound;
  if (cwd === null) {
    throw new InvalidArgumentError(
      `${word}: a relative path, but the request did not say which directory it is relative to; give an absolute path`,
    );
  }
  return resolve(cwd ?? process.cwd(), bound);
}

/** A host block device by number (`8:0`): sysfs names it (/sys/dev/block/8:0 -> .../sda), its node is /dev/sda. */
async function hostDeviceNode(word: string, bound: string): Promise<string> {
  try {
    return `/dev/${basename(await fsp.realpath(`/sys/dev/block/${bound}`))}`;
  } catch {
    throw new NoSuchDeviceNumberError(word);
  }
}
