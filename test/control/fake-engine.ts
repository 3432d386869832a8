// A stand-in for DeviceMapper with the same shape, for testing the daemon's protocol handling without the
// real engine: devices are names with a table string and memory contents; `wait` blocks until bump().

import { BusyError, ExistsError, NoDeviceError } from '../../src/base/errors.js';
import type { ControlEngine, EngineOpenDevice } from '../../src/control/engine.js';
import type { DeviceInfo, DeviceSummary } from '../../src/dm/device-mapper-core.js';
import { DM_MAJOR } from '../../src/dm/device-pool.js';
import type { TableLine } from '../../src/dm/table-line.js';

interface FakeDevice {
  minor: number;
  table: string;
  data: Buffer;
  eventNr: number;
  waiters: Array<() => void>;
  openCount: number;
}

export class FakeEngine implements ControlEngine {
  readonly byName = new Map<string, FakeDevice>();
  closed = false;
  private nextMinor = 0;

  create(name: string, table: string): void {
    if (this.byName.has(name)) throw new ExistsError(`${name}: already exists`);
    this.byName.set(name, {
      minor: this.nextMinor++,
      table,
      data: Buffer.alloc(64 * 512),
      eventNr: 0,
      waiters: [],
      openCount: 0,
    });
  }
  load(name: string, table: string): void {
    this.get(name).table = table;
  }
  suspend(name: string): void {
    this.get(name);
  }
  resume(name: string): void {
    this.get(name);
  }
  remove(name: string): void {
    if (this.get(name).openCount > 0) throw new BusyError(`${name}: device is open`);
    this.byName.delete(name);
  }
  removeAll(): void {
    this.byName.clear();
  }
  status(name?: string): TableLine[] {
    return this.lines(name, () => '');
  }
  table(name?: string): TableLine[] {
    return this.lines(name, (d) => d.table);
  }
  inactiveTable(name: string): TableLine[] {
    this.get(name);
    return [];
  }
  clear(name: string): void {
    this.get(name);
  }
  rename(name: string, to: { newName?: string }): void {
    const d = this.get(name);
    if (to.newName === undefined) return;
    if (this.byName.has(to.newName)) throw new BusyError(`${to.newName}: already exists`);
    this.byName.delete(name);
    this.byName.set(to.newName, d);
  }
  info(name?: string): DeviceInfo[] {
    return this.select(name).map(([n, d]) => ({
      name: n,
      state: 'ACTIVE',
      readOnly: false,
      tablesPresent: 'LIVE',
      openCount: d.openCount,
      eventNr: d.eventNr,
      targetCount: 1,
      major: DM_MAJOR,
      minor: d.minor,
      readAhead: 256,
    }));
  }
  message(name: string, _sector: number, args: string[]): string {
    this.get(name);
    return args.join(' ');
  }
  ls(): DeviceSummary[] {
    return [...this.byName].map(([name, d]) => ({ name, major: DM_MAJOR, minor: d.minor }));
  }
  wait(name: string, eventNr?: number): Promise<number> {
    const d = this.get(name);
    const from = eventNr ?? d.eventNr;
    if (d.eventNr !== from) return Promise.resolve(d.eventNr);
    return new Promise((resolve) => d.waiters.push(() => resolve(d.eventNr)));
  }
  open(name: string): EngineOpenDevice {
    const d = this.get(name);
    d.openCount++;
    return {
      sizeSectors: d.data.length / 512,
      readOnly: false,
      discard: async () => {},
      read: async (sector, buf) => void d.data.copy(buf, 0, sector * 512, sector * 512 + buf.length),
      write: async (sector, buf) => void buf.copy(d.data, sector * 512),
      flush: async () => {},
      close: async () => void d.openCount--,
    };
  }
  devices(name: string): Array<{ name: string }> {
    this.get(name);
    return [];
  }
  inspect(name: string): Array<{ start: number; length: number; target: string; inspection: null }> {
    this.get(name);
    return [];
  }
  targets(): Array<{ name: string; version: [number, number, number] }> {
    return [{ name: 'fake', version: [1, 0, 0] }];
  }
  close(): void {
    this.closed = true;
  }

  /** Raises an event on a device, waking its waiters (the kernel's dm_table_event). */
  bump(name: string): void {
    const d = this.get(name);
    d.eventNr++;
    for (const w of d.waiters.splice(0)) w();
  }

  private get(name: string): FakeDevice {
    const d = this.byName.get(name);
    if (!d) throw new NoDeviceError(`${name}: no such device`);
    return d;
  }
  private select(name?: string): Array<[string, FakeDevice]> {
    return name === undefined ? [...this.byName] : [[name, this.get(name)]];
  }
  private lines(name: string | undefined, params: (d: FakeDevice) => string): TableLine[] {
    return this.select(name).map(([n, d]) => ({ name: n, start: 0, length: 64, target: 'fake', params: params(d) }));
  }
}
