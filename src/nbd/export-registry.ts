// NbdExports: the exports a daemon holds (the verbs `dmsim export` and `dmsim unexport`). Each export keeps
// its mapped device open for as long as it exists, so the device counts as open: `dmsim remove` refuses it
// with EBUSY, exactly as the kernel refuses to remove a device that nbd-server (or anyone) holds open.
// Exports that name the same listen address share one server; clients pick one by name.

import { BusyError, DmError, ExistsError, IoError, NoDeviceError } from '../base/errors.js';
import type { EventBus } from '../base/events.js';
import './export-events.js';
import type { NbdBackingDevice, NbdExport } from './export.js';
import { exportUri, formatListenAddress, type ListenAddress, parseListenAddress } from './listen-address.js';
import { NbdServer } from './server.js';

/** An NBD export of a device: what `export` answers and `ls` shows. */
export interface ExportSummary {
  name: string;
  /** unix:PATH or tcp:HOST:PORT, as bound (a tcp port 0 becomes the port the system chose). */
  listen: string;
  /** What a client connects to: nbd://HOST:PORT/NAME or nbd+unix:///NAME?socket=PATH */
  uri: string;
  readOnly: boolean;
  /** Connections in the transmission phase now. */
  clients: number;
}

export interface ExportOptions {
  /** unix:PATH or tcp:HOST:PORT; default: the registry's default address (loopback only). */
  listen?: string;
  readOnly?: boolean;
}

export interface NbdExportsOptions {
  open(name: string): Promise<NbdBackingDevice>;
  defaultListen: ListenAddress;
  /** Where nbd.export and nbd.client events go (none without it). */
  bus?: EventBus;
}

interface Held {
  exp: NbdExport;
  server: NbdServer;
}

export class NbdExports {
  private readonly held = new Map<string, Held>();
  private readonly servers = new Map<string, NbdServer>();
  /** export/unexport run one at a time: two exports on a new address must not both try to bind it. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly options: NbdExportsOptions) {}

  export(name: string, options: ExportOptions = {}): Promise<ExportSummary> {
    return this.serialised(async () => {
      const already = this.held.get(name);
      if (already)
        throw new ExistsError(
          `${name}: already exported at ${exportUri(already.server.address, name)}; unexport it first`,
        );
      const address = options.listen !== undefined ? parseListenAddress(options.listen) : this.options.defaultListen;
      const device = await this.options.open(name);
      try {
        const server = await this.serverFor(address);
        const exp: NbdExport = { name, device, readOnly: options.readOnly ?? false };
        server.add(exp);
        this.held.set(name, { exp, server });
        const summary = this.summary(name);
        this.options.bus?.emit('nbd.export', {
          device: name,
          action: 'exported',
          listen: summary.listen,
          uri: summary.uri,
          readOnly: summary.readOnly,
          clients: summary.clients,
        });
        return summary;
      } catch (e) {
        await device.close();
        throw e;
      }
    });
  }

  /** Withdraws the export: its clients finish their in-flight requests and are disconnected; the device is closed. */
  unexport(name: string): Promise<void> {
    return this.serialised(async () => {
      const h = this.held.get(name);
      if (!h) throw new NoDeviceError(`${name}: not exported`);
      const { listen, uri, readOnly } = this.summary(name);
      this.held.delete(name);
      await h.server.remove(name);
      await h.exp.device.close();
      if (h.server.exportCount === 0) await this.closeServer(h.server);
      this.options.bus?.emit('nbd.export', { device: name, action: 'unexported', listen, uri, readOnly, clients: 0 });
    });
  }

  has(name: string): boolean {
    return this.held.has(name);
  }

  list(): ExportSummary[] {
    return [...this.held.keys()].sort().map((n) => this.summary(n));
  }

  summary(name: string): ExportSummary {
    const h = this.held.get(name);
    if (!h) throw new NoDeviceError(`${name}: not exported`);
    return {
      name,
      listen: formatListenAddress(h.server.address),
      uri: exportUri(h.server.address, name),
      readOnly: h.exp.readOnly || h.exp.device.readOnly,
      clients: h.server.clients(name),
    };
  }

  /** Withdraws every export and stops every server. */
  async close(): Promise<void> {
    for (const name of [...this.held.keys()]) await this.unexport(name);
  }

  private async serverFor(address: ListenAddress): Promise<NbdServer> {
    const key = formatListenAddress(address);
    const existing = this.servers.get(key);
    if (existing) return existing;
    let server: NbdServer;
    try {
      server = await NbdServer.listen(address, (name, action) => {
        const h = this.held.get(name);
        if (h) this.options.bus?.emit('nbd.client', { device: name, action, clients: h.server.clients(name) });
      });
    } catch (e) {
      if (e instanceof DmError) throw e;
      const err = e as NodeJS.ErrnoException;
      const where = formatListenAddress(address);
      if (err.code === 'EADDRINUSE') throw new BusyError(`cannot listen on ${where}: the address is in use`);
      throw new IoError(`cannot listen on ${where}: ${err.message}`);
    }
    this.servers.set(key, server);
    return server;
  }

  private async closeServer(server: NbdServer): Promise<void> {
    for (const [key, s] of this.servers) if (s === server) this.servers.delete(key);
    await server.close();
  }

  private serialised<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
