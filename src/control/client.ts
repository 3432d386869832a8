// ControlClient: the CLI's side of the control socket (the role libdevmapper's ioctl wrappers play for
// dmsetup). Sends requests, matches replies by id, turns error replies back into DmErrors.

import { connect, type Socket } from 'node:net';
import { DmError, IoError } from '../base/errors.js';
import type { DmEvent } from '../base/events.js';
import { SECTOR_SIZE } from '../base/size.js';
import { parseEvent } from './event-schema.js';
import { LineReader } from './line-reader.js';
import {
  encodeLine,
  fromWireError,
  MAX_IO_SECTORS,
  MAX_LINE_BYTES,
  type Request,
  type Verb,
  type VerbArgs,
  type VerbResult,
} from './protocol.js';

/** Nobody answers at the socket: the one line the CLI prints, with how to start a daemon. */
export class NoDaemonError extends DmError {
  /** `socketGiven`: the user named the socket (--socket), so the hint to start a daemon names it too. */
  constructor(socketPath: string, socketGiven = false) {
    const start = `dmsim daemon --detach${socketGiven ? ` --socket ${socketPath}` : ''}`;
    super('ENOENT', `no dmsim daemon at ${socketPath} (start one with: ${start})`);
  }
}

interface Pending {
  /** Items of a long list reply received so far (the daemon sends such replies in parts). */
  parts?: unknown[];
  resolve(result: unknown): void;
  reject(error: Error): void;
  onEvent?: (event: unknown) => void;
}

export class ControlClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closedError: Error | null = null;
  /** Called with each warning a reply carries (a table the daemon thinks is a mistake); the CLI prints them. */
  onWarning: ((message: string) => void) | undefined;
  private dropped = 0;
  /** Settles when the connection is gone, for whatever reason. */
  readonly closed: Promise<void>;

  private constructor(
    private readonly socket: Socket,
    readonly socketPath: string,
  ) {
    const reader = new LineReader(
      MAX_LINE_BYTES,
      (line) => this.onLine(line),
      () => this.fail(new IoError(`the daemon at ${socketPath} sent a reply longer than ${MAX_LINE_BYTES} bytes`)),
    );
    socket.on('data', (d: Buffer) => reader.push(d));
    socket.on('error', (e) => this.fail(new IoError(`connection to the daemon at ${socketPath} failed: ${e.message}`)));
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('close', () => this.fail(new IoError(`the daemon at ${socketPath} closed the connection`)));
  }

  /** Connects, or rejects with NoDaemonError when no daemon listens at the path. */
  static connect(socketPath: string): Promise<ControlClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(socketPath);
      const onError = (e: NodeJS.ErrnoException): void => {
        if (e.code === 'ENOENT' || e.code === 'ECONNREFUSED' || e.code === 'ENOTSOCK')
          reject(new NoDaemonError(socketPath));
        else reject(new IoError(`cannot connect to ${socketPath}: ${e.message}`));
      };
      socket.once('error', onError);
      socket.once('connect', () => {
        socket.off('error', onError);
        resolve(new ControlClient(socket, socketPath));
      });
    });
  }

  /** A table's relative paths are the client's: create and load carry the directory this process stands in. */
  request<V extends Verb>(verb: V, args: VerbArgs<V>): Promise<VerbResult<V>> {
    const withCwd = (verb === 'create' || verb === 'load') && !('cwd' in args) ? { ...args, cwd: process.cwd() } : args;
    return this.send(verb, withCwd) as Promise<VerbResult<V>>;
  }

  /**
   * Subscribes to the daemon's event stream; resolves once the daemon confirmed the subscription. Every event is
   * checked here, once (event-schema.ts): onEvent gets typed DmEvents only; a malformed one is dropped, counted
   * in droppedEvents and handed to onDropped with the reason. `filter.device`: only events about that device.
   */
  async events(
    onEvent: (event: DmEvent) => void,
    onDropped: (reason: string) => void = () => undefined,
    filter: { device?: string } = {},
  ): Promise<void> {
    await this.send('events', filter, (raw) => {
      let event: DmEvent;
      try {
        event = parseEvent(raw);
      } catch (e) {
        this.dropped++;
        onDropped((e as Error).message);
        return;
      }
      onEvent(event);
    });
  }

  /** How many events the stream carried that were not valid DmEvents (see events()). */
  get droppedEvents(): number {
    return this.dropped;
  }

  /** Reads count sectors, split into requests of at most MAX_IO_SECTORS. */
  async read(name: string, sector: number, count: number): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (let done = 0; done < count; ) {
      const n = Math.min(MAX_IO_SECTORS, count - done);
      const { data } = await this.request('read', { name, sector: sector + done, count: n });
      parts.push(Buffer.from(data, 'base64'));
      done += n;
    }
    return Buffer.concat(parts);
  }

  /** Writes buf (a whole number of sectors), split into requests of at most MAX_IO_SECTORS. */
  async write(name: string, sector: number, buf: Buffer): Promise<void> {
    const step = MAX_IO_SECTORS * SECTOR_SIZE;
    for (let off = 0; off < buf.length; off += step) {
      const data = buf.subarray(off, off + step).toString('base64');
      await this.request('write', { name, sector: sector + off / SECTOR_SIZE, data });
    }
  }

  close(): void {
    this.socket.end();
    this.socket.destroy();
  }

  private send(verb: Verb, args: unknown, onEvent?: Pending['onEvent']): Promise<unknown> {
    if (this.closedError) return Promise.reject(this.closedError);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, onEvent });
      this.socket.write(encodeLine({ id, verb, args } as Request));
    });
  }

  private onLine(line: string): void {
    let msg: Record<string, unknown>;
    try {
      msg = JSON.parse(line) as Record<string, unknown>;
    } catch {
      return this.fail(new IoError(`the daemon at ${this.socketPath} sent something that is not JSON`));
    }
    const id = typeof msg.id === 'number' ? msg.id : null;
    if (id === null) {
      // The daemon could not tell which request a reply belongs to: fail them all with its reason.
      return this.fail(fromWireError(msg.error));
    }
    const p = this.pending.get(id);
    if (!p) return;
    if ('event' in msg) {
      p.onEvent?.(msg.event);
      return;
    }
    if (typeof msg.warning === 'string') {
      this.onWarning?.(msg.warning);
      return;
    }
    if (Array.isArray(msg.part)) {
      p.parts ??= [];
      for (const item of msg.part) p.parts.push(item);
      return;
    }
    if (!p.onEvent) this.pending.delete(id);
    if (msg.ok !== true) p.reject(fromWireError(msg.error));
    else if (p.parts && Array.isArray(msg.result)) p.resolve(p.parts.concat(msg.result));
    else p.resolve(msg.result);
  }

  private fail(e: Error): void {
    if (this.closedError) return;
    this.closedError = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    this.socket.destroy();
  }
}
