// ControlEngine: the part of DeviceMapper (src/dm/device-mapper.ts) the daemon serves over the socket.
// Declared here, structurally, so the control layer depends on the verbs and not on the class; the
// daemon command passes a real DeviceMapper, tests may pass anything with the same shape.

import type { CreateOptions, DeviceInfo, DeviceSummary, InspectedTarget } from '../dm/device-mapper-core.js';
import type { BindOptions } from '../dm/device-pool.js';
import type { TableLine } from '../dm/table-line.js';

type MaybePromise<T> = T | Promise<T>;

/** An opened mapped device: what `read`, `write` and `flush` requests (and NBD exports) go through. */
export interface EngineOpenDevice {
  readonly sizeSectors: number;
  readonly readOnly: boolean;
  discard(sector: number, count: number): Promise<void>;
  read(sector: number, buf: Buffer): Promise<void>;
  write(sector: number, buf: Buffer): Promise<void>;
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface ControlEngine {
  /** options.cwd: the client's directory, for relative paths in the table (null: the client gave none). */
  create(name: string, table: string, options?: CreateOptions): MaybePromise<unknown>;
  load(name: string, table: string, bind?: BindOptions): MaybePromise<unknown>;
  suspend(name: string, options?: { noflush?: boolean }): MaybePromise<unknown>;
  resume(name: string): MaybePromise<unknown>;
  remove(name: string, options?: { force?: boolean; deferred?: boolean }): MaybePromise<unknown>;
  removeAll(options?: { force?: boolean }): MaybePromise<unknown>;
  status(name?: string, options?: { target?: string }): MaybePromise<TableLine[]>;
  table(name?: string): MaybePromise<TableLine[]>;
  /** The INACTIVE slot's table lines, or with type 'info' its status lines (empty when the slot is empty). */
  inactiveTable(name: string, type?: 'table' | 'info'): MaybePromise<TableLine[]>;
  /** dmsetup rename: a new name, or a uuid for a device that has none. */
  rename(name: string, to: { newName?: string; uuid?: string }): MaybePromise<unknown>;
  /** dmsetup clear: drops the inactive table. */
  clear(name: string): MaybePromise<unknown>;
  info(name?: string): MaybePromise<DeviceInfo[]>;
  message(name: string, sector: number, args: string[]): MaybePromise<string>;
  ls(): MaybePromise<DeviceSummary[]>;
  /** dmsetup wait; an aborted `signal` withdraws the wait (its client went away). */
  wait(name: string, eventNr?: number, signal?: AbortSignal): MaybePromise<number>;
  open(name: string): MaybePromise<EngineOpenDevice>;
  /** The devices the live table of `name` uses, each once, named as the table named them, and what each was bound to. */
  devices(name: string): MaybePromise<ReadonlyArray<{ name: string; boundTo?: string }>>;
  /** dmsim inspect NAME: what each live target shows of its structures. */
  inspect(name: string): MaybePromise<InspectedTarget[]>;
  targets(): MaybePromise<ReadonlyArray<{ name: string; version: string | readonly number[] }>>;
  close(): MaybePromise<unknown>;
}
