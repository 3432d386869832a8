// RecordingEngine: a ControlEngine that writes the state file after every verb that can change which devices
// exist or what their live tables are, before the verb is answered, so a device whose creation was acknowledged
// is activated again after a crash. Devices that failed to come back at start are kept in the file (never
// silently dropped) until a device of that name is created or `remove NAME` forgets them.

import { NoDeviceError } from '../base/errors.js';
import type { DeviceInfo, DeviceSummary } from '../dm/device-mapper-core.js';
import type { TableLine } from '../dm/table-line.js';
import type { ControlEngine, EngineOpenDevice } from './engine.js';
import { type RecordedDevice, writeStateFile } from './state-file.js';

export class RecordingEngine implements ControlEngine {
  /** Names in creation order (the order activation keeps when stacking allows). */
  private order: string[];
  /** Recorded devices that did not come back at start, by name. */
  private readonly pending = new Map<string, RecordedDevice>();
  private changes = 0;
  private recorded = 0;
  private writing: Promise<void> | null = null;

  constructor(
    private readonly inner: ControlEngine,
    private readonly path: string,
    recorded: readonly RecordedDevice[] = [],
    notActivated: readonly string[] = [],
  ) {
    this.order = recorded.map((d) => d.name);
    for (const d of recorded) if (notActivated.includes(d.name)) this.pending.set(d.name, d);
  }

  /** Writes the current devices; returns once a write that began after this call has completed. */
  async record(): Promise<void> {
    const want = ++this.changes;
    while (this.recorded < want) {
      if (!this.writing) {
        const generation = this.changes;
        this.writing = this.writeOnce()
          .then(() => {
            this.recorded = Math.max(this.recorded, generation);
          })
          .finally(() => (this.writing = null));
      }
      await this.writing;
    }
  }

  private async writeOnce(): Promise<void> {
    const live = new Map<string, RecordedDevice>();
    for (const { name } of await this.inner.ls()) {
      try {
        const [info] = await this.inner.info(name);
        const lines = await this.inner.table(name);
        if (!info) continue;
        live.set(name, {
          name,
          ...(info.uuid !== undefined && info.uuid !== '' ? { uuid: info.uuid } : {}),
          readOnly: info.readOnly,
          minor: info.minor,
          table: lines.map(tableLineText),
        });
      } catch (e) {
        if (!(e instanceof NoDeviceError)) throw e; // removed while we looked: its own record follows
      }
    }
    for (const name of live.keys()) this.pending.delete(name);
    const known = new Set([...live.keys(), ...this.pending.keys()]);
    this.order = [
      ...this.order.filter((n) => known.has(n)),
      ...[...known].filter((n) => !this.order.includes(n)).sort(),
    ];
    const devices = this.order.map((n) => live.get(n) ?? this.pending.get(n)!);
    await writeStateFile(this.path, { devices });
  }

  private async recordAfter<T>(change: () => T | Promise<T>): Promise<T> {
    try {
      return await change();
    } finally {
      await this.record();
    }
  }

  create(
    name: string,
    table: string,
    options?: { readOnly?: boolean; uuid?: string; notable?: boolean },
  ): Promise<unknown> {
    return this.recordAfter(() => this.inner.create(name, table, options));
  }
  load(name: string, table: string): Promise<unknown> {
    return this.recordAfter(() => this.inner.load(name, table));
  }
  suspend(name: string, options?: { noflush?: boolean }): Promise<unknown> {
    return this.recordAfter(() => this.inner.suspend(name, options));
  }
  resume(name: string): Promise<unknown> {
    return this.recordAfter(() => this.inner.resume(name));
  }
  async remove(name: string, options?: { force?: boolean }): Promise<unknown> {
    const live = (await this.inner.ls()).some((d) => d.name === name);
    if (!live && this.pending.delete(name)) return this.record();
    return this.recordAfter(() => this.inner.remove(name, options));
  }
  removeAll(options?: { force?: boolean }): Promise<unknown> {
    return this.recordAfter(() => this.inner.removeAll(options));
  }
  clear(name: string): Promise<unknown> {
    return Promise.resolve(this.inner.clear(name));
  }
  status(name?: string, options?: { target?: string }): Promise<TableLine[]> {
    return Promise.resolve(this.inner.status(name, options));
  }
  table(name?: string): Promise<TableLine[]> {
    return Promise.resolve(this.inner.table(name));
  }
  inactiveTable(name: string): Promise<TableLine[]> {
    return Promise.resolve(this.inner.inactiveTable(name));
  }
  info(name?: string): Promise<DeviceInfo[]> {
    return Promise.resolve(this.inner.info(name));
  }
  message(name: string, sector: number, args: string[]): Promise<string> {
    return Promise.resolve(this.inner.message(name, sector, args));
  }
  ls(): Promise<DeviceSummary[]> {
    return Promise.resolve(this.inner.ls());
  }
  wait(name: string, eventNr?: number, signal?: AbortSignal): Promise<number> {
    return Promise.resolve(this.inner.wait(name, eventNr, signal));
  }
  open(name: string): Promise<EngineOpenDevice> {
    return Promise.resolve(this.inner.open(name));
  }
  devices(name: string): Promise<ReadonlyArray<{ name: string }>> {
    return Promise.resolve(this.inner.devices(name));
  }
  targets(): Promise<ReadonlyArray<{ name: string; version: string | readonly number[] }>> {
    return Promise.resolve(this.inner.targets());
  }
  /** Shutting down closes the devices but is not a change: the file keeps them for the next start. */
  close(): Promise<unknown> {
    return Promise.resolve(this.inner.close());
  }
}

/** A table line as `dmsetup table` prints it, which is also how a table is written. */
function tableLineText(l: TableLine): string {
  return `${l.start} ${l.length} ${l.target}${l.params === '' ? '' : ` ${l.params}`}`;
}
