// EmbeddedBackend: a scenario's device-mapper in this process (a DeviceMapper on one bus and one kcopyd
// engine). `restart` plays a daemon restart: the live tables are noted, the DeviceMapper is closed (every
// device torn down, every file closed, as when `dmsim daemon` stops), and a new one re-creates the devices
// from the same tables, lower devices first — what LVM's activation does after a reboot.

import { DeviceMapper } from '../../targets/device-mapper.js';
import type { EventBus } from '../base/events.js';
import type { BlockDevice } from '../block/block-device.js';
import type { ControlEngine } from '../control/engine.js';
import { MAPPER_PREFIX } from '../dm/device-pool.js';
import { tableText } from '../dm/table-line.js';
import type { KcopydEngine } from '../kcopyd/engine.js';
import type { ScenarioBackend } from './scenario-backend.js';

export class EmbeddedBackend implements ScenarioBackend {
  readonly mode = 'embedded';
  private current: DeviceMapper;
  private readonly restartListeners = new Set<(dm: DeviceMapper) => void>();

  constructor(
    readonly bus: EventBus,
    readonly kcopyd: KcopydEngine,
  ) {
    this.current = this.makeDeviceMapper();
  }

  /**
   * The dmsetup verbs of whichever DeviceMapper serves the scenario now: one object that stays valid across
   * restarts, for a TUI to serve on its control socket (startEmbedded's makeEngine) while the player plays.
   */
  readonly engine: ControlEngine & { openBlock(name: string): Promise<BlockDevice> } = {
    create: (name, table, options) => this.current.create(name, table, options),
    load: (name, table) => this.current.load(name, table),
    clear: (name) => this.current.clear(name),
    inactiveTable: (name, type) => this.current.inactiveTable(name, type),
    rename: (name, to) => this.current.rename(name, to),
    suspend: (name, options) => this.current.suspend(name, options),
    resume: (name) => this.current.resume(name),
    remove: (name, options) => this.current.remove(name, options),
    removeAll: (options) => this.current.removeAll(options),
    status: (name, options) => this.current.status(name, options),
    table: (name) => this.current.table(name),
    info: (name) => this.current.info(name),
    message: (name, sector, args) => this.current.message(name, sector, args),
    ls: () => this.current.ls(),
    wait: (name, eventNr) => this.current.wait(name, eventNr),
    open: (name) => this.current.open(name),
    devices: (name) => this.current.devices(name),
    inspect: (name) => this.current.inspect(name),
    targets: () => this.current.targets(),
    close: () => this.current.close(),
    openBlock: (name) => this.current.open(name),
  };

  /** The DeviceMapper serving the scenario now (a new one after each restart). */
  get dm(): DeviceMapper {
    return this.current;
  }

  /** Called with the new DeviceMapper after each restart; returns the function that unsubscribes. */
  onRestart(listener: (dm: DeviceMapper) => void): () => void {
    this.restartListeners.add(listener);
    return () => this.restartListeners.delete(listener);
  }

  create(name: string, table: string, readOnly: boolean): Promise<void> {
    return this.current.create(name, table, { readOnly });
  }

  load(name: string, table: string): Promise<void> {
    return this.current.load(name, table);
  }

  suspend(name: string, noflush: boolean): Promise<void> {
    return this.current.suspend(name, { noflush });
  }

  resume(name: string): Promise<void> {
    return this.current.resume(name);
  }

  remove(name: string, force: boolean): Promise<void> {
    return this.current.remove(name, { force });
  }

  message(name: string, sector: number, args: string[]): Promise<string> {
    return this.current.message(name, sector, args);
  }

  status(name: string) {
    return this.current.status(name);
  }

  table(name: string) {
    return this.current.table(name);
  }

  async eventNr(name: string): Promise<number> {
    return (await this.current.info(name))[0]!.eventNr;
  }

  async names(): Promise<string[]> {
    return this.current.ls().map((d) => d.name);
  }

  async read(name: string, sector: number, count: number): Promise<Buffer> {
    const buf = Buffer.alloc(count * 512);
    await this.withOpen(name, (dev) => dev.read(sector, buf));
    return buf;
  }

  write(name: string, sector: number, buf: Buffer): Promise<void> {
    return this.withOpen(name, (dev) => dev.write(sector, buf));
  }

  flush(name: string): Promise<void> {
    return this.withOpen(name, (dev) => dev.flush());
  }

  openMapped(name: string): Promise<BlockDevice> {
    return this.current.open(name);
  }

  async restart(): Promise<void> {
    const old = this.current;
    const saved: { name: string; table: string; readOnly: boolean; uses: string[] }[] = [];
    for (const info of await old.info()) {
      const lines = await old.table(info.name);
      const uses = old
        .devices(info.name)
        .map((d) => d.name)
        .filter((n) => n.startsWith(MAPPER_PREFIX))
        .map((n) => n.slice(MAPPER_PREFIX.length));
      saved.push({ name: info.name, table: tableText(lines), readOnly: info.readOnly, uses });
    }
    await old.close();
    this.current = this.makeDeviceMapper();
    // Lower devices first: a table can only name /dev/mapper devices that exist.
    const made = new Set<string>();
    while (made.size < saved.length) {
      const ready = saved.filter((s) => !made.has(s.name) && s.uses.every((u) => made.has(u)));
      for (const s of ready) {
        await this.current.create(s.name, s.table, { readOnly: s.readOnly, notable: s.table === '' });
        made.add(s.name);
      }
    }
    for (const l of this.restartListeners) l(this.current);
  }

  close(): Promise<void> {
    return this.current.close();
  }

  private makeDeviceMapper(): DeviceMapper {
    return new DeviceMapper({ bus: this.bus, kcopyd: this.kcopyd });
  }

  private async withOpen(name: string, fn: (dev: BlockDevice) => Promise<void>): Promise<void> {
    const dev = await this.current.open(name);
    try {
      await fn(dev);
    } finally {
      await dev.close();
    }
  }
}
