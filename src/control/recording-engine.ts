// RecordingEngine: a ControlEngine that writes the state file after every verb that can change which devices
// exist or what their live tables are (create, resume, remove, remove_all), before the verb is answered, so a
// device whose creation was acknowledged is activated again after a crash. The change and its record happen
// together or not at all: when the file cannot be written (a full filesystem), the change is undone before the
// verb fails — a created device is removed, a removed one is created again from its record as a restart would,
// a swapped-in table is swapped back — so what runs is always what a restart would bring back. These verbs run
// one at a time; the others (load, suspend, clear: the inactive table and the suspended state are not
// recorded, as a reboot keeps neither) pass straight through. Devices that failed to come back at start are kept
// in the file (never silently dropped) until a device of that name is created or `remove NAME` forgets them.

import { DmError, NoDeviceError } from '../base/errors.js';
import type { CreateOptions, DeviceInfo, DeviceSummary, InspectedTarget } from '../dm/device-mapper-core.js';
import type { BindOptions } from '../dm/device-pool.js';
import type { TableLine } from '../dm/table-line.js';
import { activate, activationOrder } from './activation.js';
import type { ControlEngine, EngineOpenDevice } from './engine.js';
import { bindOf, type RecordedDevice, writeStateFile } from './state-file.js';

/** What the file holds: the live devices as recorded, the ones that did not come back, and their order. */
interface Recorded {
  live: Map<string, RecordedDevice>;
  pending: Map<string, RecordedDevice>;
  /** Names in creation order (the order activation keeps when stacking allows). */
  order: string[];
}

export class RecordingEngine implements ControlEngine {
  private recorded: Recorded;
  /** The changing verbs, one after another: each one's record (or undo) is done before the next begins. */
  private changing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly inner: ControlEngine,
    private readonly path: string,
    recorded: readonly RecordedDevice[] = [],
    notActivated: readonly string[] = [],
  ) {
    this.recorded = {
      live: new Map(recorded.filter((d) => !notActivated.includes(d.name)).map((d) => [d.name, d])),
      pending: new Map(recorded.filter((d) => notActivated.includes(d.name)).map((d) => [d.name, d])),
      order: recorded.map((d) => d.name),
    };
  }

  /** Writes the devices as they are now (at start: which also proves the file can be written). */
  record(): Promise<void> {
    return this.change(() => {}, { atStart: true });
  }

  /**
   * Runs `verb` (which may forget devices from its copy of the pending ones, or rename one in its copy of the
   * order), then records what it changed;
   * when that write fails, undoes the change and fails with why. A verb that fails may still have changed
   * something (remove --force swaps in an error table): that is recorded, or undone, too.
   */
  private change<T>(
    verb: (pending: Map<string, RecordedDevice>, order: string[]) => T | Promise<T>,
    { atStart = false } = {},
  ): Promise<T> {
    const run = async (): Promise<T> => {
      const before = this.recorded;
      const pending = new Map(before.pending);
      const kept = [...before.order];
      let outcome: { ok: true; value: T } | { ok: false; error: unknown };
      try {
        outcome = { ok: true, value: await verb(pending, kept) };
      } catch (error) {
        outcome = { ok: false, error };
      }
      const live = await this.liveDevices();
      for (const name of live.keys()) pending.delete(name); // created again under that name: the new one counts
      const known = new Set([...live.keys(), ...pending.keys()]);
      const order = [...kept.filter((n) => known.has(n)), ...[...known].filter((n) => !kept.includes(n)).sort()];
      const next: Recorded = { live, pending, order };
      if (atStart || !sameRecords(before, next)) {
        try {
          await writeStateFile(this.path, { devices: order.map((n) => live.get(n) ?? pending.get(n)!) });
        } catch (writeError) {
          if (atStart) throw writeError;
          const undone = await this.undo(before.live, live);
          const failed = outcome.ok ? undefined : (outcome.error as Error);
          throw new DmError(
            failed instanceof DmError ? failed.code : 'EIO',
            `${failed ? `${failed.message}; and recording what it changed failed: ` : ''}${(writeError as Error).message}; ${undone}`,
          );
        }
        this.recorded = next;
      }
      if (!outcome.ok) throw outcome.error;
      return outcome.value;
    };
    const result = this.changing.then(run);
    this.changing = result.catch(() => {});
    return result;
  }

  /** The live devices as the file records them: name, uuid, read-only, minor, table and bindings. */
  private async liveDevices(): Promise<Map<string, RecordedDevice>> {
    const live = new Map<string, RecordedDevice>();
    for (const { name } of await this.inner.ls()) {
      try {
        const [info] = await this.inner.info(name);
        if (!info) continue;
        const lines = await this.inner.table(name);
        const bindings: Record<string, string> = {};
        for (const d of await this.inner.devices(name))
          if (d.boundTo !== undefined && d.boundTo !== d.name) bindings[d.name] = d.boundTo;
        live.set(name, {
          name,
          ...(info.uuid !== undefined && info.uuid !== '' ? { uuid: info.uuid } : {}),
          readOnly: info.readOnly,
          minor: info.minor,
          table: lines.map(tableLineText),
          ...(Object.keys(bindings).length > 0 ? { bindings } : {}),
        });
      } catch (e) {
        if (!(e instanceof NoDeviceError)) throw e;
      }
    }
    return live;
  }

  /**
   * Brings the live devices back to what the file holds: new devices removed (top of a stack first), changed
   * tables loaded again from their record and resumed, removed devices created again from their record. Says
   * how that went, in words for the error the verb fails with.
   */
  private async undo(before: Map<string, RecordedDevice>, now: Map<string, RecordedDevice>): Promise<string> {
    const failures: string[] = [];
    const attempt = async (name: string, step: () => Promise<unknown>): Promise<void> => {
      try {
        await step();
      } catch (e) {
        failures.push(`${name}: ${(e as Error).message}`);
      }
    };
    const added = [...now.values()].filter((d) => !before.has(d.name));
    for (const d of activationOrder(added).reverse()) await attempt(d.name, async () => this.inner.remove(d.name));
    const removed = [...before.values()].filter((d) => !now.has(d.name));
    for (const r of await activate(this.inner, removed)) if (!r.ok) failures.push(`${r.name}: ${r.reason}`);
    for (const [name, was] of before) {
      const is = now.get(name);
      if (is === undefined || sameDevice(was, is)) continue;
      await attempt(name, async () => {
        await this.inner.load(name, was.table.join('\n'), bindOf(was));
        await this.inner.resume(name);
      });
    }
    if (failures.length === 0) return 'the change was undone, so nothing changed';
    return `undoing the change failed (${failures.join('; ')}): the devices differ from the state file until a change is recorded`;
  }

  create(name: string, table: string, options?: CreateOptions): Promise<unknown> {
    return this.change(() => this.inner.create(name, table, options));
  }
  load(name: string, table: string, bind?: BindOptions): Promise<unknown> {
    return Promise.resolve(this.inner.load(name, table, bind));
  }
  suspend(name: string, options?: { noflush?: boolean }): Promise<unknown> {
    return Promise.resolve(this.inner.suspend(name, options));
  }
  resume(name: string): Promise<unknown> {
    return this.change(() => this.inner.resume(name));
  }
  remove(name: string, options?: { force?: boolean }): Promise<unknown> {
    return this.change(async (pending) => {
      const live = (await this.inner.ls()).some((d) => d.name === name);
      if (live || !pending.delete(name)) await this.inner.remove(name, options); // else: forgets one that did not come back
    });
  }
  removeAll(options?: { force?: boolean }): Promise<unknown> {
    return this.change(() => this.inner.removeAll(options));
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
  inactiveTable(name: string, type?: 'table' | 'info'): Promise<TableLine[]> {
    return Promise.resolve(this.inner.inactiveTable(name, type));
  }
  /** A rename changes what the file records (the name, or the uuid); a renamed device keeps its place. */
  rename(name: string, to: { newName?: string; uuid?: string }): Promise<unknown> {
    return this.change(async (_pending, order) => {
      await this.inner.rename(name, to);
      if (to.newName !== undefined && order.includes(name)) order[order.indexOf(name)] = to.newName;
    });
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
  devices(name: string): Promise<ReadonlyArray<{ name: string; boundTo?: string }>> {
    return Promise.resolve(this.inner.devices(name));
  }
  inspect(name: string): Promise<InspectedTarget[]> {
    return Promise.resolve(this.inner.inspect(name));
  }

  targets(): Promise<ReadonlyArray<{ name: string; version: string | readonly number[] }>> {
    return Promise.resolve(this.inner.targets());
  }
  /** Shutting down closes the devices but is not a change: the file keeps them for the next start. */
  close(): Promise<unknown> {
    return Promise.resolve(this.inner.close());
  }
}

function sameDevice(a: RecordedDevice, b: RecordedDevice): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

function sameRecords(a: Recorded, b: Recorded): boolean {
  const same = (x: Map<string, RecordedDevice>, y: Map<string, RecordedDevice>): boolean =>
    x.size === y.size && [...x].every(([n, d]) => y.has(n) && sameDevice(d, y.get(n)!));
  return same(a.live, b.live) && same(a.pending, b.pending) && a.order.join('/') === b.order.join('/');
}

/** A table line as `dmsetup table` prints it, which is also how a table is written. */
function tableLineText(l: TableLine): string {
  return `${l.start} ${l.length} ${l.target}${l.params === '' ? '' : ` ${l.params}`}`;
}
