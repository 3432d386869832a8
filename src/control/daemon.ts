// ControlDaemon: serves one device-mapper engine over the control socket, as the kernel serves
// /dev/mapper/control (drivers/md/dm-ioctl.c: ctl_ioctl -> lookup_ioctl -> the per-command function).
// Each connection is independent (connection.ts: its limits): a bad line gets an error reply, an oversized line
// closes that connection, a client that vanishes mid-request loses its reply; nothing here ends the process.

import { promises as fsp } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { BusyError, DmError, InvalidArgumentError, NoDeviceError } from '../base/errors.js';
import type { DmEvent, EventBus } from '../base/events.js';
import { SECTOR_SIZE } from '../base/size.js';
import type { NbdExports } from '../nbd/export-registry.js';
import { removeStaleSocket } from '../net/unix-socket.js';
import { ControlConnection } from './connection.js';
import { isAbout, mayBeAboutDevice } from './device-events.js';
import type { ControlEngine } from './engine.js';
import {
  encodeLine,
  MAX_IO_SECTORS,
  type Reply,
  type Request,
  type TableLine,
  type WireDeviceInfo,
} from './protocol.js';
import { defaultSocketPath } from './socket-path.js';
import { StatusHistory } from './status-history.js';

/** The dm ioctl interface version of the reference kernel (dmsetup version: "Driver version"). */
const DRIVER_VERSION = '4.47.0';
/** An event subscriber that falls this far behind is disconnected rather than buffered without bound. */
const MAX_EVENT_BACKLOG_BYTES = 16 * 1024 * 1024;

export interface DaemonOptions {
  engine: ControlEngine;
  bus: EventBus;
  /** dmsim's version, for the `version` verb. */
  version: string;
}

/**
 * The directory dmsim names by default (/tmp/dmsim-UID or XDG_RUNTIME_DIR/dmsim) must be ours alone, as tmux
 * insists for its socket directory: one left behind with looser modes is tightened, one owned by another user
 * (someone could swap the socket) is refused. A directory given with --socket is the user's choice.
 */
async function securePrivateDirectory(dir: string): Promise<void> {
  const st = await fsp.stat(dir);
  const uid = process.getuid?.() ?? st.uid;
  if (st.uid !== uid)
    throw new DmError(
      'EPERM',
      `${dir}: owned by uid ${st.uid}, not by this user (${uid}); remove it or choose another --socket`,
    );
  if ((st.mode & 0o077) !== 0) await fsp.chmod(dir, 0o700);
}

export class ControlDaemon {
  private readonly connections = new Set<Socket>();
  private server: Server | null = null;
  private socketPath: string | null = null;
  /** The socket file this daemon made: only that one is removed at close (another may have replaced it since). */
  private socketFile: FileIdentity | null = null;
  /** NBD exports (`dmsim export`), made at the first export; loaded then so plain daemons do not load the NBD server. */
  private exports: NbdExports | null = null;

  /** Why each device's status last changed (`status.changed` events, `status --explain`). */
  private readonly history: StatusHistory;

  constructor(private readonly options: DaemonOptions) {
    this.history = new StatusHistory(async (name) => options.engine.status(name), options.bus);
  }

  /**
   * Listens at socketPath: creates its directory (0700) if missing, replaces a stale socket nobody answers on,
   * refuses a live one, and makes the socket 0600.
   */
  async listen(socketPath: string): Promise<void> {
    await fsp.mkdir(dirname(socketPath), { recursive: true, mode: 0o700 });
    if (dirname(socketPath) === dirname(defaultSocketPath())) await securePrivateDirectory(dirname(socketPath));
    await removeStaleSocket(socketPath, {
      busy: `a daemon is already running at ${socketPath}`,
      notSocket: `${socketPath} exists and is not a socket; remove it or choose another --socket`,
    });
    // allowHalfOpen: `printf '%s\n' REQUEST | nc -U SOCKET` closes its side at once and still wants the reply.
    const server = createServer({ allowHalfOpen: true }, (socket) => this.serve(socket));
    // Bound under a private name, made 0600, then renamed into place: the socket never shows looser modes, and
    // libuv, which unlinks the name it bound when the server closes, unlinks that private name, not whatever
    // is at socketPath by then (a newer daemon's socket).
    const bound = join(dirname(socketPath), `.dmsim-${process.pid}-${++bindCount}`);
    await fsp.rm(bound, { force: true });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(bound, () => {
        server.off('error', reject);
        resolve();
      });
    });
    await fsp.chmod(bound, 0o600);
    await fsp.rename(bound, socketPath);
    this.socketFile = await identity(socketPath);
    this.server = server;
    this.socketPath = socketPath;
  }

  /** Stops listening, drops every connection, closes the engine's devices and removes the socket if it is still ours. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.connections) s.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
    // Exports hold their devices open: withdraw them before the engine removes the devices.
    await this.exports?.close();
    this.history.close();
    await this.options.engine.close();
    if (this.socketPath) await removeIfSame(this.socketPath, this.socketFile);
  }

  private serve(socket: Socket): void {
    this.connections.add(socket);
    new ControlConnection(socket, {
      dispatch: (request, signal, warn) => this.dispatchWithWarnings(request, signal, warn),
      subscribe: (id, device, reply) => this.subscribe(socket, id, device, reply),
    });
    socket.on('close', () => this.connections.delete(socket));
  }

  private subscribe(socket: Socket, id: number, device: string | undefined, reply: (r: Reply) => void): void {
    reply({ id, ok: true, result: { subscribed: true } });
    const listener = (event: DmEvent): void => {
      if (socket.destroyed || (device !== undefined && !isAbout(event, device))) return;
      if (socket.writableLength > MAX_EVENT_BACKLOG_BYTES) {
        socket.destroy();
        return;
      }
      let line: string;
      try {
        line = encodeLine({ id, event: { ...event } });
      } catch (e) {
        // An event field JSON cannot carry (a BigInt, a cycle) must not break the engine that emitted it.
        line = encodeLine({
          id,
          event: { type: event.type, seq: event.seq, time: event.time, unserialisable: (e as Error).message },
        });
      }
      socket.write(line);
    };
    const unsubscribe = this.options.bus.on(listener, device === undefined ? undefined : mayBeAboutDevice);
    socket.once('close', unsubscribe);
  }

  /** Runs a request, passing on the `dm.warning` events a create or load raises about its device as it runs. */
  private async dispatchWithWarnings(
    request: Request,
    signal: AbortSignal,
    warn: (message: string) => void,
  ): Promise<unknown> {
    const name = request.verb === 'create' || request.verb === 'load' ? request.args.name : undefined;
    if (name === undefined) return this.dispatch(request, signal);
    // Only dm.warning: a mirror's resync starts inside create, and a catch-all listener would have kcopyd build
    // an event for every step of every sub-job while the request runs.
    const off = this.options.bus.on(
      (e) => {
        if (e.type === 'dm.warning' && e.device === name) warn(e.message);
      },
      (type) => type === 'dm.warning',
    );
    try {
      return await this.dispatch(request, signal);
    } finally {
      off();
    }
  }

  private async dispatch(request: Request, signal: AbortSignal): Promise<unknown> {
    const engine = this.options.engine;
    switch (request.verb) {
      // A table's relative paths are the client's: without its directory (cwd) they are refused, never guessed.
      case 'create': {
        const { name, table, cwd, ...options } = request.args;
        await engine.create(name, table, { ...options, cwd: cwd ?? null });
        return null;
      }
      case 'load':
        await engine.load(request.args.name, request.args.table, { cwd: request.args.cwd ?? null });
        return null;
      case 'suspend':
        await engine.suspend(request.args.name, { noflush: request.args.noflush ?? false });
        return null;
      case 'resume':
        await engine.resume(request.args.name);
        return null;
      case 'remove':
        // An exported device is open, so the engine refuses it too; this says why and what to do.
        if (!request.args.force && !request.args.deferred && this.exports?.has(request.args.name)) {
          throw new BusyError(
            `${request.args.name}: device is busy: exported over NBD at ${this.exports.summary(request.args.name).uri}; run dmsim unexport ${request.args.name} first`,
          );
        }
        await engine.remove(request.args.name, {
          force: request.args.force ?? false,
          deferred: request.args.deferred ?? false,
        });
        return null;
      case 'removeAll':
        await engine.removeAll({ force: request.args.force ?? false });
        return null;
      case 'explain':
        return this.history.explain(request.args.name);
      case 'status':
      case 'table': {
        const { name, target, inactive } = request.args;
        const type = request.verb === 'status' ? 'info' : 'table';
        if (!inactive) {
          const live = type === 'info' ? await engine.status(name) : await engine.table(name);
          return byName(onlyTarget(live, target));
        }
        const names = name !== undefined ? [name] : (await engine.ls()).map((d) => d.name);
        const lines: TableLine[] = [];
        for (const n of names) lines.push(...(await engine.inactiveTable(n, type)));
        return byName(onlyTarget(lines, target));
      }
      case 'rename': {
        const { name, newName, uuid } = request.args;
        if ((newName === undefined) === (uuid === undefined)) {
          throw new InvalidArgumentError('rename: give either a new name or a uuid (--setuuid)');
        }
        await engine.rename(name, newName !== undefined ? { newName } : { uuid });
        return null;
      }
      case 'clear':
        await engine.clear(request.args.name);
        return null;
      case 'info':
        return byName(
          (await engine.info(request.args.name)).map((i): WireDeviceInfo => ({ ...i, uuid: i.uuid ?? '' })),
        );
      case 'deps': {
        const names = request.args.name !== undefined ? [request.args.name] : (await engine.ls()).map((d) => d.name);
        const deps = [];
        // The kernel adds each device at the head of the table's list (dm-table.c list_add), so deps come
        // out last-named first.
        for (const name of names) {
          const used = [...(await engine.devices(name))].reverse();
          deps.push({ name, devices: used.map((d) => d.name), boundTo: used.map((d) => d.boundTo ?? '') });
        }
        return byName(deps);
      }
      case 'ls':
        return byName(
          (await engine.ls()).map((d) => {
            const exported = this.exports?.has(d.name) ? { export: this.exports.summary(d.name) } : {};
            return { name: d.name, major: d.major, minor: d.minor, ...exported };
          }),
        );
      case 'message':
        return engine.message(request.args.name, request.args.sector, request.args.message);
      case 'wait':
        return engine.wait(request.args.name, request.args.eventNr, signal);
      case 'targets':
        return (await engine.targets()).map((t) => ({
          name: t.name,
          version: typeof t.version === 'string' ? t.version : t.version.join('.'),
        }));
      case 'version':
        return { dmsim: this.options.version, driver: DRIVER_VERSION };
      case 'read': {
        const { name, sector, count } = request.args;
        checkIoSize(count);
        const buf = Buffer.alloc(count * SECTOR_SIZE);
        await withOpen(engine, name, (dev) => dev.read(sector, buf));
        return { data: buf.toString('base64') };
      }
      case 'write': {
        const { name, sector, data } = request.args;
        const buf = Buffer.from(data, 'base64');
        if (buf.length % SECTOR_SIZE !== 0) {
          throw new InvalidArgumentError(
            `write: ${buf.length} bytes is not a whole number of ${SECTOR_SIZE}-byte sectors`,
          );
        }
        checkIoSize(buf.length / SECTOR_SIZE);
        await withOpen(engine, name, (dev) => dev.write(sector, buf));
        return null;
      }
      case 'flush':
        await withOpen(engine, request.args.name, (dev) => dev.flush());
        return null;
      case 'export': {
        const { name, listen, readOnly } = request.args;
        return (await this.nbdExports()).export(name, { listen, readOnly });
      }
      case 'unexport':
        if (!this.exports) throw new NoDeviceError(`${request.args.name}: not exported`);
        await this.exports.unexport(request.args.name);
        return null;
      case 'inspect':
        return engine.inspect(request.args.name);
      case 'events':
        throw new InvalidArgumentError('events: already handled');
    }
  }

  private async nbdExports(): Promise<NbdExports> {
    if (!this.exports) {
      const { NbdExports } = await import('../nbd/export-registry.js');
      const engine = this.options.engine;
      // Default: a unix socket beside the control socket (loopback only, 0600); any other address is explicit.
      const path = `${this.socketPath ?? 'dmsim-control'}.nbd`;
      this.exports ??= new NbdExports({
        open: async (name) => engine.open(name),
        defaultListen: { kind: 'unix', path },
        bus: this.options.bus,
      });
    }
    return this.exports;
  }
}

/** Daemons bound in this process, for unique private socket names. */
let bindCount = 0;

/**
 * Which file a path names: device and inode, and the inode's change time, since a file made after ours was
 * removed may get the very inode number back (ext4 reuses them at once).
 */
interface FileIdentity {
  dev: bigint;
  ino: bigint;
  ctimeNs: bigint;
}

async function identity(path: string): Promise<FileIdentity | null> {
  const st = await fsp.lstat(path, { bigint: true }).catch(() => null);
  return st && { dev: st.dev, ino: st.ino, ctimeNs: st.ctimeNs };
}

/** Removes path if it is still the file `own`; one put there since is left alone. */
async function removeIfSame(path: string, own: FileIdentity | null): Promise<void> {
  const now = await identity(path);
  if (now && own && now.dev === own.dev && now.ino === own.ino && now.ctimeNs === own.ctimeNs)
    await fsp.rm(path, { force: true });
}

/** The kernel keeps devices in a tree ordered by name, so every listing comes out sorted (stable: a
 * device's table lines keep their order). */
function byName<T extends { name: string }>(items: T[]): T[] {
  return [...items].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function onlyTarget(lines: TableLine[], target: string | undefined): TableLine[] {
  return target === undefined ? lines : lines.filter((l) => l.target === target);
}

function checkIoSize(count: number): void {
  if (count === 0 || count > MAX_IO_SECTORS) {
    throw new InvalidArgumentError(`one request moves 1 to ${MAX_IO_SECTORS} sectors, not ${count}`);
  }
}

async function withOpen(
  engine: ControlEngine,
  name: string,
  io: (dev: Awaited<ReturnType<ControlEngine['open']>>) => Promise<void>,
): Promise<void> {
  const dev = await engine.open(name);
  try {
    await io(dev);
  } finally {
    await dev.close();
  }
}
