// DaemonBackend: a scenario played against a running `dmsim daemon` through the control client. Mapped
// devices reach kcopyd (for `copy` steps) as block devices whose reads and writes are control requests, so
// copies run in this process's kcopyd engine while the devices live in the daemon. The runner does not own
// the daemon's process: `restart` calls the restart its caller gave (stop the daemon, start it again on the
// same socket, e.g. with --state so it re-activates the devices) and reconnects; without one it is refused.

import { InvalidArgumentError } from '../base/errors.js';
import { SECTOR_SIZE } from '../base/size.js';
import { type BlockDevice, checkRequest } from '../block/block-device.js';
import { ControlClient } from '../control/client.js';
import type { KcopydEngine } from '../kcopyd/engine.js';
import type { ScenarioBackend } from './scenario-backend.js';

/** /dev/mapper/NAME of a daemon as a BlockDevice: each read and write is one or more control requests. */
class RemoteMappedDevice implements BlockDevice {
  readonly readOnly = false;
  constructor(
    private readonly client: ControlClient,
    private readonly device: string,
    readonly sizeSectors: number,
  ) {}

  get name(): string {
    return `/dev/mapper/${this.device}`;
  }

  async read(sector: number, buf: Buffer): Promise<void> {
    checkRequest(this, 'read', sector, buf.length);
    (await this.client.read(this.device, sector, buf.length / SECTOR_SIZE)).copy(buf);
  }

  async write(sector: number, buf: Buffer): Promise<void> {
    checkRequest(this, 'write', sector, buf.length);
    await this.client.write(this.device, sector, buf);
  }

  async flush(): Promise<void> {
    await this.client.request('flush', { name: this.device });
  }

  async discard(): Promise<void> {
    throw new InvalidArgumentError(`${this.name}: discard is not sent over the control protocol`);
  }

  async close(): Promise<void> {}
}

export class DaemonBackend implements ScenarioBackend {
  readonly mode = 'daemon';

  constructor(
    private client: ControlClient,
    readonly kcopyd: KcopydEngine,
    private readonly socket: string,
    private readonly restartDaemon?: () => Promise<void>,
  ) {}

  async create(name: string, table: string, readOnly: boolean): Promise<void> {
    await this.client.request('create', { name, table, readOnly });
  }

  async load(name: string, table: string): Promise<void> {
    await this.client.request('load', { name, table });
  }

  async suspend(name: string, noflush: boolean): Promise<void> {
    await this.client.request('suspend', { name, noflush });
  }

  async resume(name: string): Promise<void> {
    await this.client.request('resume', { name });
  }

  async remove(name: string, force: boolean): Promise<void> {
    await this.client.request('remove', { name, force });
  }

  message(name: string, sector: number, args: string[]): Promise<string> {
    return this.client.request('message', { name, sector, message: args });
  }

  status(name: string) {
    return this.client.request('status', { name });
  }

  table(name: string) {
    return this.client.request('table', { name });
  }

  async eventNr(name: string): Promise<number> {
    return (await this.client.request('info', { name }))[0]!.eventNr;
  }

  async names(): Promise<string[]> {
    return (await this.client.request('ls', {})).map((d) => d.name);
  }

  read(name: string, sector: number, count: number): Promise<Buffer> {
    return this.client.read(name, sector, count);
  }

  write(name: string, sector: number, buf: Buffer): Promise<void> {
    return this.client.write(name, sector, buf);
  }

  async flush(name: string): Promise<void> {
    await this.client.request('flush', { name });
  }

  async openMapped(name: string): Promise<BlockDevice> {
    const lines = await this.table(name);
    const size = lines.reduce((n, l) => Math.max(n, l.start + l.length), 0);
    return new RemoteMappedDevice(this.client, name, size);
  }

  async restart(): Promise<void> {
    if (!this.restartDaemon)
      throw new InvalidArgumentError(
        'restart: the daemon runs in its own process; play this scenario without --socket (embedded) to restart it',
      );
    this.client.close();
    await this.restartDaemon();
    this.client = await ControlClient.connect(this.socket);
  }

  async close(): Promise<void> {
    this.client.close();
  }
}
