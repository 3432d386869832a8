// ScenarioBackend: what a scenario step needs from the device-mapper, whether it runs in this process
// (embedded-backend.ts, a DeviceMapper) or in a `dmsim daemon` (daemon-backend.ts, the control client).
// The dmsetup verbs plus mapped-device I/O, a kcopyd environment for `copy` steps, and `restart`.

import type { BlockDevice } from '../block/block-device.js';
import type { TableLine } from '../control/protocol.js';
import type { KcopydEnvironment } from '../kcopyd/environment.js';

export interface ScenarioBackend {
  readonly mode: 'embedded' | 'daemon';
  create(name: string, table: string, readOnly: boolean): Promise<void>;
  load(name: string, table: string): Promise<void>;
  suspend(name: string, noflush: boolean): Promise<void>;
  resume(name: string): Promise<void>;
  remove(name: string, force: boolean): Promise<void>;
  message(name: string, sector: number, args: string[]): Promise<string>;
  status(name: string): Promise<TableLine[]>;
  table(name: string): Promise<TableLine[]>;
  eventNr(name: string): Promise<number>;
  /** The devices that exist now. */
  names(): Promise<string[]>;
  read(name: string, sector: number, count: number): Promise<Buffer>;
  write(name: string, sector: number, buf: Buffer): Promise<void>;
  flush(name: string): Promise<void>;
  /** /dev/mapper/NAME as a block device, for kcopyd jobs; the caller closes it. */
  openMapped(name: string): Promise<BlockDevice>;
  /** Where `copy` steps get their kcopyd client. */
  readonly kcopyd: KcopydEnvironment;
  /**
   * The daemon stops and a new one starts from the same files: every device is torn down and re-created from
   * its live table. Throws when the backend cannot do it.
   */
  restart(): Promise<void>;
  /** Ends the session: removes the devices the scenario left behind and lets go of everything. */
  close(): Promise<void>;
}
