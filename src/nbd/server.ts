// NbdServer: one listening socket (unix or tcp) offering any number of exports by name, as nbd-server or
// nbdkit do; each connection runs the handshake, then a transmission session on the export it chose.
// A misbehaving connection is closed on its own; the listener and the other connections carry on.

import { promises as fsp } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { ExistsError, NoDeviceError } from '../base/errors.js';
import { removeStaleSocket } from '../net/unix-socket.js';
import type { NbdExport } from './export.js';
import { type ExportLookup, negotiate } from './handshake.js';
import type { ListenAddress } from './listen-address.js';
import { SocketReader } from './socket-reader.js';
import { TransmissionSession } from './transmission.js';

/** Told when a connection enters the transmission phase on an export, and when that session ends. */
export type ClientListener = (name: string, action: 'connected' | 'disconnected') => void;

export class NbdServer implements ExportLookup {
  private readonly exports = new Map<string, NbdExport>();
  private readonly sessions = new Map<string, Set<TransmissionSession>>();
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    /** The address actually bound (a tcp port 0 becomes the port the system chose). */
    readonly address: ListenAddress,
    private readonly onClients?: ClientListener,
  ) {}

  /** Listens at the address; a unix socket is made 0600 and a stale one nobody answers on is replaced. */
  static async listen(address: ListenAddress, onClients?: ClientListener): Promise<NbdServer> {
    if (address.kind === 'unix')
      await removeStaleSocket(address.path, {
        busy: `something already listens on ${address.path}; choose another --listen address`,
        notSocket: `${address.path} exists and is not a socket; choose another --listen address`,
      });
    let self: NbdServer | null = null;
    const server = createServer((socket) => void self?.serve(socket));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      const done = (): void => {
        server.off('error', reject);
        resolve();
      };
      if (address.kind === 'unix') server.listen(address.path, done);
      else server.listen(address.port, address.host, done);
    });
    let bound = address;
    if (address.kind === 'unix') await fsp.chmod(address.path, 0o600);
    else {
      const a = server.address();
      if (a !== null && typeof a === 'object') bound = { kind: 'tcp', host: address.host, port: a.port };
    }
    self = new NbdServer(server, bound, onClients);
    return self;
  }

  add(exp: NbdExport): void {
    if (this.exports.has(exp.name)) throw new ExistsError(`${exp.name}: already exported`);
    this.exports.set(exp.name, exp);
    this.sessions.set(exp.name, new Set());
  }

  /** Withdraws an export: new clients no longer see it; its connections finish what is in flight and close. */
  async remove(name: string): Promise<void> {
    if (!this.exports.delete(name)) throw new NoDeviceError(`${name}: not exported`);
    const sessions = [...(this.sessions.get(name) ?? [])];
    this.sessions.delete(name);
    await Promise.all(sessions.map((s) => s.shutdown()));
  }

  /** Connections in the transmission phase on this export. */
  clients(name: string): number {
    return this.sessions.get(name)?.size ?? 0;
  }

  get exportCount(): number {
    return this.exports.size;
  }

  /** The empty name is the default export (proto.md): the only one, when there is exactly one. */
  find(name: string): NbdExport | undefined {
    if (name === '' && this.exports.size === 1) return [...this.exports.values()][0];
    return this.exports.get(name);
  }

  names(): string[] {
    return [...this.exports.keys()].sort();
  }

  /** Stops listening and closes every connection (after its in-flight requests) and the unix socket file. */
  async close(): Promise<void> {
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    for (const name of [...this.exports.keys()]) await this.remove(name);
    // Then drop what is left: connections still haggling (they hold no device) and any whose client is not
    // reading its last replies (their writes are done; only the answers are lost).
    for (const s of this.sockets) s.destroy();
    await closed;
    if (this.address.kind === 'unix') await fsp.rm(this.address.path, { force: true });
  }

  private async serve(socket: Socket): Promise<void> {
    this.sockets.add(socket);
    socket.once('close', () => this.sockets.delete(socket));
    if (this.address.kind === 'tcp') socket.setNoDelay(true);
    const reader = new SocketReader(socket);
    let session: TransmissionSession | null = null;
    try {
      const exp = await negotiate(socket, reader, this);
      if (exp === null || this.exports.get(exp.name) !== exp) {
        socket.end();
        return;
      }
      session = new TransmissionSession(socket, reader, exp);
      this.sessions.get(exp.name)?.add(session);
      this.onClients?.(exp.name, 'connected');
      await session.run();
    } catch {
      // A protocol violation or a vanished peer: a hard disconnect, this connection only.
      socket.destroy();
    } finally {
      if (session) {
        // Requests already taken finish (their writes land) before the export may let go of the device.
        await session.shutdown();
        // A session of a withdrawn export is not counted down: remove() already dropped its set.
        if (this.sessions.get(session.exp.name)?.delete(session)) this.onClients?.(session.exp.name, 'disconnected');
      }
    }
  }
}
