// Target: the kernel's struct target_type / dm_target in TypeScript. A target type builds a target from its
// table arguments; the mapped device sends it bios (already split so none crosses maxIoSectors boundaries).

import type { Clock } from '../base/clock.js';
import type { EventBus } from '../base/events.js';
import type { BlockDevice, DiscardLimits } from '../block/block-device.js';
import type { KcopydEnvironment } from '../kcopyd/environment.js';
import type { KcopydClientInspection } from '../kcopyd/types.js';
import type { Bio } from './bio.js';

export type StatusType = 'info' | 'table';

/** A device a table names, as given in the table (path or /dev/mapper/NAME), and the opened device. */
export interface DmDevice {
  /**
   * The word the table used (a `253:MINOR` word shows the device's minor now, a `/dev/mapper/NAME` word its name
   * now); status and table lines print this.
   */
  readonly name: string;
  readonly bdev: BlockDevice;
  /** What the word was bound to when the table was loaded: an absolute path or /dev/mapper/NAME (none for a registered device). */
  readonly boundTo?: string;
}

/** What a target's constructor gets besides its arguments (the kernel's dm_target fields and dm_get_device). */
export interface TargetContext {
  /** Name of the mapped device the table is loaded into. */
  readonly deviceName: string;
  /** First sector of this target within the mapped device, and its length. */
  readonly begin: number;
  readonly len: number;
  /** The table is for a read-only device. */
  readonly readOnly: boolean;
  /** Opens (or shares) a device named in the table: a file, a block device or /dev/mapper/NAME. */
  getDevice(name: string, mode: 'r' | 'rw'): Promise<DmDevice>;
  readonly bus: EventBus;
  /** Creates kcopyd clients on the engine's scheduler and page pool. */
  readonly kcopyd: KcopydEnvironment;
  /** Milliseconds, injectable for flakey/delay tests. */
  readonly clock: Clock;
  /** Raises a dm event (the kernel's dm_table_event): bumps the device's event counter and wakes `wait`. */
  raiseEvent(): void;
}

/** A range of sectors of a device that a target maps. */
export interface DeviceArea {
  readonly device: DmDevice;
  readonly start: number;
  readonly len: number;
}

export interface Target {
  /**
   * Requests are split so that no piece crosses a multiple of this many sectors (the kernel's
   * ti->max_io_len: a snapshot's chunk size, a mirror's region size). 0 = no limit.
   */
  readonly maxIoSectors: number;
  /**
   * The kernel's num_discard_bios != 0: the target takes discards, if every device its deviceAreas name does
   * (dm_table_supports_discards; no target here sets discards_supported). Absent or false: it takes none, and
   * neither does a device whose table holds it.
   */
  readonly takesDiscards?: boolean;
  /** The discard part of io_hints: changes the limits stacked from the target's devices. */
  discardHints?(limits: DiscardLimits): DiscardLimits;
  /** Serves one bio whose sector is relative to the target's start. Rejects with a DmError (EIO) on failure. */
  map(bio: Bio): Promise<void>;
  /** The kernel's STATUSTYPE_INFO / STATUSTYPE_TABLE text (the part after `<start> <len> <name> `). */
  status(type: StatusType): string;
  /**
   * Work the kernel's status function does before it prints INFO on a device that is not suspended (thin-pool
   * commits its metadata; thin looks up its highest mapped block). `dmsetup status` awaits it first.
   */
  prepareStatus?(): Promise<void>;
  /**
   * What `dmsim inspect` shows of the target (dmsim's; the kernel has no such call): its own structures as a
   * plain JSON object whose `kind` names the model, and its kcopyd clients.
   */
  inspect?(): Promise<TargetInspection>;
  /** `dmsetup message`; resolves to the reply text (often empty). */
  message?(args: string[]): Promise<string>;
  /** Before suspend: stop starting new internal work. noflush: keep queued I/O instead of failing it. */
  presuspend?(options: { noflush: boolean }): Promise<void>;
  /** After in-flight I/O has drained. */
  postsuspend?(): Promise<void>;
  /** Before this table becomes live (may fail the resume). */
  preresume?(): Promise<void>;
  /** After this table became live. */
  resume?(): Promise<void>;
  /** The devices the target uses (for deps, EBUSY on remove, and the TUI's tree). */
  devices(): DmDevice[];
  /**
   * The kernel's iterate_devices: each device area the target maps (first sector and length on the device).
   * The table refuses a load when an area does not fit its device ("vda too small for target").
   */
  deviceAreas?(): DeviceArea[];
  /** Frees everything (the kernel's dtr). */
  destroy(): Promise<void>;
}

/** A target's inspection: `kind` names the model the target's module defines (snapshot, mirror ...). */
export interface TargetInspection {
  readonly kind: string;
  readonly kcopyd: readonly KcopydClientInspection[];
}

export interface TargetType {
  readonly name: string;
  readonly version: readonly [number, number, number];
  /**
   * The constructor (ctr). Throws InvalidArgumentError whose message is the kernel's ti->error text
   * (for example "Chunk size is not a power of 2"); the parser adds the target name, line and word.
   */
  create(ctx: TargetContext, args: string[]): Promise<Target>;
}
