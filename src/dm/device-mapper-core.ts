// DeviceMapperCore: the named mapped devices and the dmsetup verbs as methods (drivers/md/dm-ioctl.c's
// command set: dev_create, table_load, do_suspend/do_resume, dev_remove, remove_all, table_status,
// dev_status, target_message with the core's own `@` messages (message_for_md), dev_wait, list_devices, list_versions, table_deps). It knows no target type:
// tables may use the types in the registry it is handed (targets/device-mapper.ts hands it the built-in ones).

import type { Clock } from '../base/clock.js';
import { SystemClock } from '../base/clock.js';
import { BusyError, DmError, InvalidArgumentError, NoDeviceError } from '../base/errors.js';
import { defaultBus, type EventBus } from '../base/events.js';
import type { BlockDevice } from '../block/block-device.js';
import { KcopydEngine } from '../kcopyd/engine.js';
import type { KcopydEnvironment } from '../kcopyd/environment.js';
import { type BindOptions, DevicePool, DM_MAJOR } from './device-pool.js';
import { MappedBlockDevice, MappedDevice } from './mapped-device.js';
import { DmTable } from './table.js';
import type { TableLine } from './table-line.js';
import { parseTable } from './table-parser.js';
import type { DmDevice, TargetInspection } from './target.js';
import { TargetRegistry } from './target-registry.js';

declare module '../base/events.js' {
  interface DmEventMap {
    'dm.created': { device: string; minor: number; uuid?: string };
    'dm.removed': { device: string; minor: number };
    /** dmsetup rename: `device` is the old name, `name` the new one (the same when only a uuid was set). */
    'dm.renamed': { device: string; name: string; minor: number; uuid?: string };
    /**
     * A dmsim extension (the kernel is silent): a table was loaded that does what it says but is most likely a
     * mistake, e.g. `mirror-log-reused` (targets/mirror/log-legs.ts). The daemon passes it to the client whose
     * request loaded the table, and the CLI prints it on stderr.
     */
    'dm.warning': { device: string; kind: string; message: string };
  }
}

/** `dmsetup info` for one device. */
export interface DeviceInfo {
  name: string;
  state: 'ACTIVE' | 'SUSPENDED';
  readOnly: boolean;
  /** Present (true) while a deferred remove waits for the last opener to close (DM_DEFERRED_REMOVE). */
  deferredRemove?: true;
  tablesPresent: 'LIVE' | 'INACTIVE' | 'LIVE & INACTIVE' | 'None';
  openCount: number;
  eventNr: number;
  /** Targets in the live table. */
  targetCount: number;
  uuid?: string;
  major: number;
  minor: number;
  readAhead: number;
}

/** `dmsetup ls`: NAME (253:MINOR). */
/** One target of `dmsim inspect NAME`: where it sits and what its inspect() showed. */
export interface InspectedTarget {
  start: number;
  length: number;
  target: string;
  inspection: TargetInspection | null;
}

export interface DeviceSummary {
  name: string;
  major: number;
  minor: number;
}

export interface DeviceMapperOptions {
  /** The target types tables may use. */
  registry?: TargetRegistry;
  bus?: EventBus;
  clock?: Clock;
  kcopyd?: KcopydEnvironment;
  /** Let tables open block devices that are mounted or claimed by another process (`dmsim daemon --force`). */
  forceOpen?: boolean;
}

export interface CreateOptions extends BindOptions {
  readOnly?: boolean;
  uuid?: string;
  /** Create the device without loading a table (`dmsetup create --notable`). */
  notable?: boolean;
}

/** DM_NAME_LEN and DM_UUID_LEN in the kernel include the NUL. */
const DM_NAME_LEN = 128;
const DM_UUID_LEN = 129;
/** The read-ahead dmsetup shows for a mapped device (256 sectors). */
const READ_AHEAD = 256;

export class DeviceMapperCore {
  readonly bus: EventBus;
  readonly clock: Clock;
  /** The target types tables may use; register more with `registry.register(type)`. */
  readonly registry: TargetRegistry;
  private readonly devicesByName = new Map<string, MappedDevice>();
  private readonly pool: DevicePool;
  private kcopydEnv: KcopydEnvironment | undefined;
  private ownsKcopyd = false;
  private closed = false;

  constructor(options: DeviceMapperOptions = {}) {
    this.bus = options.bus ?? defaultBus;
    this.clock = options.clock ?? new SystemClock();
    this.kcopydEnv = options.kcopyd;
    this.registry = options.registry ?? new TargetRegistry();
    this.pool = new DevicePool(
      {
        byName: (name) => this.devicesByName.get(name),
        byMinor: (minor) => [...this.devicesByName.values()].find((md) => md.minor === minor),
        all: () => this.devicesByName.values(),
      },
      { force: options.forceOpen ?? false },
    );
  }

  /** The kcopyd engine targets copy with: the one given, else one made on first use on this bus and clock. */
  get kcopyd(): KcopydEnvironment {
    if (!this.kcopydEnv) {
      this.kcopydEnv = new KcopydEngine({ bus: this.bus, clock: this.clock });
      this.ownsKcopyd = true;
    }
    return this.kcopydEnv;
  }

  /** Lets tables name `dev` by `name` (for tests and embedders: no files needed). The caller keeps ownership. */
  addBackingDevice(name: string, dev: BlockDevice): void {
    this.pool.addBacking(name, dev);
  }

  /** dmsetup create: a new device, then load + resume of the table unless it is empty or `notable`. */
  async create(name: string, table: string, options: CreateOptions = {}): Promise<void> {
    this.checkOpen();
    checkName(name);
    if (this.devicesByName.has(name)) throw new BusyError(`${name}: a device with this name already exists`);
    if (options.uuid !== undefined) {
      if (options.uuid.length === 0 || options.uuid.length >= DM_UUID_LEN) {
        throw new InvalidArgumentError(`${name}: uuid must be 1 to ${DM_UUID_LEN - 1} characters`);
      }
      const other = [...this.devicesByName.values()].find((md) => md.uuid === options.uuid);
      if (other) throw new BusyError(`${name}: uuid "${options.uuid}" is already used by device ${other.name}`);
    }
    const empty = options.notable || parseTable(table).length === 0;
    const md = new MappedDevice({
      name,
      minor: this.freeMinor(),
      uuid: options.uuid,
      readOnly: options.readOnly ?? false,
      bus: this.bus,
      clock: this.clock,
      onUnused: (unused) => this.removeDeferred(unused),
    });
    this.devicesByName.set(name, md);
    this.bus.emit(
      'dm.created',
      options.uuid === undefined
        ? { device: name, minor: md.minor }
        : { device: name, minor: md.minor, uuid: options.uuid },
    );
    if (empty) return;
    try {
      await md.exclusive(async () => {
        await md.load(await this.buildTable(md, table, options));
        await md.resume();
      });
    } catch (e) {
      // dmsetup removes a device whose first table did not load.
      await this.destroyDevice(md);
      throw e;
    }
  }

  /** dmsetup load / reload: builds the table and puts it in the inactive slot. */
  async load(name: string, table: string, bind: BindOptions = {}): Promise<void> {
    const md = this.get(name);
    await md.exclusive(async () => md.load(await this.buildTable(md, table, bind)));
  }

  /** dmsetup clear: drops the inactive table. */
  async clear(name: string): Promise<void> {
    const md = this.get(name);
    await md.exclusive(() => md.clearInactive());
  }

  async suspend(name: string, options: { noflush?: boolean } = {}): Promise<void> {
    const md = this.get(name);
    await md.exclusive(() => md.suspend(options.noflush ?? false));
  }

  async resume(name: string): Promise<void> {
    const md = this.get(name);
    await md.exclusive(() => md.resume());
  }

  /**
   * dmsetup remove: EBUSY while the device is open or another table uses it. With force, a busy device first
   * gets an error table (so its users see EIO instead of hanging), and the remove still fails with EBUSY.
   * With deferred, a busy device is marked instead and goes when its open count reaches 0 (dm_lock_for_deletion
   * with mark_deferred; dev_remove then answers success).
   */
  async remove(name: string, options: { force?: boolean; deferred?: boolean } = {}): Promise<void> {
    const md = this.get(name);
    await md.exclusive(async () => {
      if (md.openCount > 0) {
        if (options.force) await this.swapInErrorTable(md);
        if (options.deferred) {
          md.deferredRemove = true;
          return;
        }
        throw new BusyError(
          `${name}: device is busy: ${this.describeUsers(md)}${options.force && md.live ? ' (its table was replaced by an error table)' : ''}`,
        );
      }
      await this.destroyDevice(md);
    });
  }

  /**
   * dmsetup remove_all: removes every device that is not in use, over and over so stacks come down top first.
   * With force, the devices still in use then get error tables (which lets go of the devices under them) and
   * the removal runs again. Fails with EBUSY naming what is left.
   */
  async removeAll(options: { force?: boolean } = {}): Promise<void> {
    await this.removeUnused();
    if (options.force && this.devicesByName.size > 0) {
      for (const md of this.sorted()) await md.exclusive(() => this.swapInErrorTable(md));
      await this.removeUnused();
    }
    const left = this.sorted();
    if (left.length > 0) {
      throw new BusyError(
        `remove_all left ${left.length} open device(s): ${left.map((md) => `${md.name} (${this.describeUsers(md)})`).join(', ')}`,
      );
    }
  }

  /** dmsetup status [NAME] [--target T]: each live target's STATUSTYPE_INFO text. */
  async status(name?: string, options: { target?: string } = {}): Promise<TableLine[]> {
    for (const md of this.select(name)) {
      if (md.suspended) continue;
      for (const t of md.live?.targets ?? [])
        if (options.target === undefined || t.type.name === options.target) await t.target.prepareStatus?.();
    }
    return this.tableLines('info', name, options.target);
  }

  /** dmsetup table [NAME] [--target T]: each live target's STATUSTYPE_TABLE text. */
  async table(name?: string, options: { target?: string } = {}): Promise<TableLine[]> {
    return this.tableLines('table', name, options.target);
  }

  /** dmsetup table --inactive NAME (or status --inactive NAME with type 'info'). */
  async inactiveTable(name: string, type: 'table' | 'info' = 'table'): Promise<TableLine[]> {
    const md = this.get(name);
    return (md.inactive?.lines(type) ?? []).map((l) => ({ name: md.name, ...l }));
  }

  /**
   * dmsetup rename (dm-ioctl dev_rename): a new name, refused with EBUSY when a device has it; or with
   * --setuuid a uuid, refused with EINVAL when the device already has one and EBUSY when another device does.
   * The tables that use the device keep using it (they hold the device, not its name).
   */
  async rename(name: string, to: { newName?: string; uuid?: string }): Promise<void> {
    const md = this.get(name);
    if (to.uuid !== undefined) {
      const uuid = to.uuid;
      if (uuid.length === 0 || uuid.length >= DM_UUID_LEN) {
        throw new InvalidArgumentError(`${name}: uuid must be 1 to ${DM_UUID_LEN - 1} characters`);
      }
      if (md.uuid !== undefined) {
        throw new InvalidArgumentError(
          `${name}: unable to set its uuid to "${uuid}": it already has the uuid "${md.uuid}" (a uuid is set once)`,
        );
      }
      const other = [...this.devicesByName.values()].find((d) => d.uuid === uuid);
      if (other) throw new BusyError(`${name}: uuid "${uuid}" is already used by device ${other.name}`);
      md.setUuid(uuid);
      this.bus.emit('dm.renamed', { device: name, name, minor: md.minor, uuid });
      return;
    }
    const newName = to.newName ?? '';
    checkName(newName);
    if (this.devicesByName.has(newName)) {
      throw new BusyError(`${name}: cannot rename it to "${newName}": a device with that name already exists`);
    }
    this.devicesByName.delete(name);
    md.setName(newName);
    this.devicesByName.set(newName, md);
    this.bus.emit(
      'dm.renamed',
      md.uuid === undefined
        ? { device: name, name: newName, minor: md.minor }
        : { device: name, name: newName, minor: md.minor, uuid: md.uuid },
    );
  }

  async info(name?: string): Promise<DeviceInfo[]> {
    return this.select(name).map((md) => {
      const tablesPresent = md.live ? (md.inactive ? 'LIVE & INACTIVE' : 'LIVE') : md.inactive ? 'INACTIVE' : 'None';
      const info: DeviceInfo = {
        name: md.name,
        state: md.suspended ? 'SUSPENDED' : 'ACTIVE',
        readOnly: md.readOnly,
        ...(md.deferredRemove ? { deferredRemove: true as const } : {}),
        tablesPresent,
        openCount: md.openCount,
        eventNr: md.eventNr,
        targetCount: md.live?.targets.length ?? 0,
        major: DM_MAJOR,
        minor: md.minor,
        readAhead: READ_AHEAD,
      };
      if (md.uuid !== undefined) info.uuid = md.uuid;
      return info;
    });
  }

  /** dmsetup message NAME SECTOR WORDS...: sent to the live target holding SECTOR; resolves to its reply. */
  async message(name: string, sector: number, args: string[]): Promise<string> {
    const md = this.get(name);
    if (args.length === 0) throw new InvalidArgumentError(`${name}: Empty message received.`);
    // message_for_md: the core answers a first word starting with '@' itself, whatever the sector and table.
    if (args[0]!.startsWith('@')) return coreMessage(md, args);
    const table = md.live;
    if (!table) throw new NoDeviceError(`${name}: the device has no live table to send a message to`);
    if (!Number.isSafeInteger(sector) || sector < 0 || sector >= table.sizeSectors) {
      throw new InvalidArgumentError(
        `${name}: Target message sector outside device (sector ${sector}, device has ${table.sizeSectors})`,
      );
    }
    const t = table.targetAt(sector);
    if (!t.target.message)
      throw new InvalidArgumentError(`${name}: Target type does not support messages (${t.type.name})`);
    return t.target.message(args);
  }

  ls(): DeviceSummary[] {
    return this.sorted().map((md) => ({ name: md.name, major: DM_MAJOR, minor: md.minor }));
  }

  /**
   * dmsetup wait NAME [EVENT_NR]: resolves with the event counter once it differs from eventNr (default 0);
   * `signal` withdraws the wait (its caller went away).
   */
  async wait(name: string, eventNr = 0, signal?: AbortSignal): Promise<number> {
    return this.get(name).waitEvent(eventNr, signal);
  }

  /** Opens a mapped device for I/O; it counts in the open count until closed. */
  async open(name: string): Promise<MappedBlockDevice> {
    return this.get(name).blockDevice('opener', `/dev/mapper/${name}`);
  }

  targets(): { name: string; version: readonly [number, number, number] }[] {
    return this.registry.list();
  }

  /** dmsim inspect NAME: each live target's inspection (null for a target with nothing to show). */
  async inspect(name: string): Promise<InspectedTarget[]> {
    const targets = this.get(name).live?.targets ?? [];
    const out: InspectedTarget[] = [];
    for (const t of targets)
      out.push({
        start: t.begin,
        length: t.len,
        target: t.type.name,
        inspection: (await t.target.inspect?.()) ?? null,
      });
    return out;
  }

  /** dmsetup deps: the devices the live table uses, each once, with what each was bound to. */
  devices(name: string): DmDevice[] {
    return this.get(name).live?.devices() ?? [];
  }

  /** Removes every device (open or not, stacks top first), closes the files tables opened and the kcopyd engine. */
  async close(): Promise<void> {
    if (this.closed) return;
    await this.topDown(async (md) => {
      await this.destroyDevice(md);
      return true;
    });
    // A loop of holders cannot be built (the pool refuses it), so nothing is left; if it were, it goes too.
    for (const md of this.sorted()) await this.destroyDevice(md);
    this.closed = true;
    await this.pool.closeAll();
    if (this.ownsKcopyd && this.kcopydEnv instanceof KcopydEngine) await this.kcopydEnv.destroy();
  }

  /**
   * dm_deferred_remove, queued by the last close of a device marked for deferred removal: removes it unless it
   * was opened again or the mark was cancelled meanwhile. Like the kernel's work item it reports to nobody.
   */
  private removeDeferred(md: MappedDevice): void {
    if (!md.deferredRemove) return;
    void md
      .exclusive(async () => {
        if (this.devicesByName.get(md.name) !== md || md.openCount > 0 || !md.deferredRemove) return;
        await this.destroyDevice(md);
      })
      .catch(() => undefined);
  }

  /** The devices whose tables (live or inactive) use md. */
  private holdersOf(md: MappedDevice): string[] {
    const names: string[] = [];
    for (const other of this.devicesByName.values()) {
      for (const table of [other.live, other.inactive]) {
        if (table?.devices().some((d) => d.bdev instanceof MappedBlockDevice && d.bdev.device === md))
          names.push(other.name);
      }
    }
    return names;
  }

  private describeUsers(md: MappedDevice): string {
    const holders = this.holdersOf(md);
    const openers = md.openCount - holders.length;
    const parts: string[] = [`open count ${md.openCount}`];
    if (holders.length > 0) parts.push(`used by the table of ${holders.join(', ')}`);
    if (openers > 0) parts.push(`opened ${openers} time(s)`);
    return parts.join('; ');
  }

  /** Removes devices nobody uses until none is left that can go. */
  private async removeUnused(): Promise<void> {
    await this.topDown(async (md) => {
      if (md.openCount > 0) return false;
      await this.remove(md.name);
      return true;
    });
  }

  /**
   * Offers each device to `visit` once no table of another device uses it any more, tops of stacks first; a
   * device `visit` removed (returned true) lets go of the devices under it. In the order of repeated passes
   * over the devices by name (a device freed during a pass comes later in that pass if its name sorts after the
   * current one, else in the next pass), but from a holder count built once: linear in the devices and table
   * references, where rescanning every device for a free one after each removal was cubic in a stack's depth.
   */
  private async topDown(visit: (md: MappedDevice) => Promise<boolean>): Promise<void> {
    const under = new Map<MappedDevice, MappedDevice[]>();
    const holders = new Map<MappedDevice, number>();
    for (const md of this.devicesByName.values()) {
      const used: MappedDevice[] = [];
      for (const table of [md.live, md.inactive]) {
        for (const d of table?.devices() ?? []) if (d.bdev instanceof MappedBlockDevice) used.push(d.bdev.device);
      }
      under.set(md, used);
      for (const u of used) holders.set(u, (holders.get(u) ?? 0) + 1);
    }
    const ready = new PassQueue();
    for (const md of this.sorted()) if (!holders.has(md)) ready.push(0, md);
    for (let next = ready.pop(); next; next = ready.pop()) {
      const { pass, md } = next;
      if (!(await visit(md))) continue;
      for (const u of under.get(md) ?? []) {
        const left = (holders.get(u) ?? 1) - 1;
        holders.set(u, left);
        if (left === 0 && this.devicesByName.get(u.name) === u) ready.push(u.name > md.name ? pass : pass + 1, u);
      }
    }
  }

  /** dmsetup's _error_device: `0 <size> error` loaded and resumed over a live table. */
  private async swapInErrorTable(md: MappedDevice): Promise<void> {
    if (!md.live) return;
    await md.load(await this.buildTable(md, `0 ${md.sizeSectors} error`));
    await md.resume();
  }

  private async destroyDevice(md: MappedDevice): Promise<void> {
    await md.destroy();
    if (this.devicesByName.get(md.name) === md) {
      this.devicesByName.delete(md.name);
      this.bus.emit('dm.removed', { device: md.name, minor: md.minor });
    }
  }

  private async buildTable(md: MappedDevice, text: string, bind: BindOptions = {}): Promise<DmTable> {
    const lines = parseTable(text);
    const devs = this.pool.forTable(md, bind);
    return DmTable.build(lines, {
      lookupType: (type) => this.registry.get(type),
      getDevice: (word, mode) => devs.get(word, md.readOnly ? 'r' : mode),
      releaseDevices: () => devs.release(),
      context: {
        // A getter: a renamed device's targets name it by its new name.
        get deviceName() {
          return md.name;
        },
        readOnly: md.readOnly,
        bus: this.bus,
        kcopyd: this.lazyKcopyd,
        clock: this.clock,
        raiseEvent: () => md.raiseEvent(),
      },
    });
  }

  /** Creates the engine only when a target first asks for a client. */
  private readonly lazyKcopyd: KcopydEnvironment = {
    createClient: (options) => this.kcopyd.createClient(options),
  };

  /**
   * The kcopyd environment every table's targets are handed (TargetContext.kcopyd): state a target module keeps
   * per device-mapper instance is keyed by it (the thin pools and dm_thin_pool's module parameters).
   */
  get targetKcopyd(): KcopydEnvironment {
    return this.lazyKcopyd;
  }

  private tableLines(type: 'info' | 'table', name: string | undefined, target: string | undefined): TableLine[] {
    const out: TableLine[] = [];
    for (const md of this.select(name)) {
      for (const l of md.live?.lines(type) ?? [])
        if (target === undefined || l.target === target) out.push({ name: md.name, ...l });
    }
    return out;
  }

  private select(name: string | undefined): MappedDevice[] {
    return name === undefined ? this.sorted() : [this.get(name)];
  }

  private sorted(): MappedDevice[] {
    return [...this.devicesByName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  private get(name: string): MappedDevice {
    this.checkOpen();
    const md = this.devicesByName.get(name);
    if (!md) throw new NoDeviceError(`${name}: no such device`);
    return md;
  }

  /** idr_alloc: the lowest minor not in use. */
  private freeMinor(): number {
    const used = new Set([...this.devicesByName.values()].map((md) => md.minor));
    let m = 0;
    while (used.has(m)) m++;
    return m;
  }

  private checkOpen(): void {
    if (this.closed) throw new NoDeviceError('the device mapper was closed');
  }
}

/** A min-heap of devices by (pass, name): the order of repeated passes over the devices by name. */
class PassQueue {
  private readonly heap: { pass: number; md: MappedDevice }[] = [];

  push(pass: number, md: MappedDevice): void {
    const h = this.heap;
    h.push({ pass, md });
    for (let i = h.length - 1; i > 0; ) {
      const parent = (i - 1) >> 1;
      if (!before(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  pop(): { pass: number; md: MappedDevice } | undefined {
    const h = this.heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      for (let i = 0; ; ) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function before(a: { pass: number; md: MappedDevice }, b: { pass: number; md: MappedDevice }): boolean {
  return a.pass !== b.pass ? a.pass < b.pass : a.md.name < b.md.name;
}

/**
 * message_for_md: `@cancel_deferred_remove`, then dm-stats' `@stats_*` (dm_stats_message); any other word is
 * refused by the core. The words are matched without regard to case (strcasecmp).
 */
function coreMessage(md: MappedDevice, args: readonly string[]): string {
  try {
    if (args[0]!.toLowerCase() === '@cancel_deferred_remove') {
      if (args.length !== 1) throw new InvalidArgumentError('Invalid arguments for @cancel_deferred_remove');
      // dm_cancel_deferred_remove: succeeds whether or not a remove was pending.
      md.deferredRemove = false;
      return '';
    }
    const reply = md.stats.message(args, md.sizeSectors);
    if (reply === undefined) throw new InvalidArgumentError(`Unsupported message sent to DM core: ${args[0]}`);
    return reply;
  } catch (e) {
    if (e instanceof DmError) throw new DmError(e.code, `${md.name}: ${e.message}`);
    throw e;
  }
}

/** dm-ioctl check_name: not empty, shorter than DM_NAME_LEN, no '/'. */
function checkName(name: string): void {
  if (name.length === 0) throw new InvalidArgumentError('a device name may not be empty');
  if (name.length >= DM_NAME_LEN)
    throw new InvalidArgumentError(
      `device name "${name.slice(0, 20)}..." is longer than ${DM_NAME_LEN - 1} characters`,
    );
  if (name.includes('/')) throw new InvalidArgumentError(`device name "${name}" may not contain '/'`);
  if (name === '.' || name === '..') throw new InvalidArgumentError(`"${name}" is not a valid device name`);
}
