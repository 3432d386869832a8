// ControlConnection: one client of the control socket and the limits that keep it from making the daemon hold
// memory for it without bound. The kernel's twin is dm-ioctl's ctl_ioctl: each ioctl copies one bounded buffer
// in and one out, a process that stops reading blocks only itself, and a process that dies leaves no waiter
// behind (dev_wait sleeps in the caller's own context). Here the daemon stops reading a connection whose
// requests pile up or whose replies go unread, starts nothing more for it until the client catches up, sends
// long listings in parts, and withdraws everything the connection started when it closes.

import type { Socket } from 'node:net';
import { BusyError, InvalidArgumentError, IoError, OverflowError } from '../base/errors.js';
import { LineReader } from './line-reader.js';
import {
  encodeLine,
  MAX_LINE_BYTES,
  parseRequest,
  type Reply,
  type Request,
  RequestError,
  toWireError,
} from './protocol.js';

/** What one connection may hold; past each the daemon stops reading it or refuses (see the README's Guarantees). */
export const CONNECTION_LIMITS = {
  /** Requests read but not yet started; at this many the daemon stops reading the socket. */
  queuedRequests: 32,
  /** Bytes of those requests' lines; at this many the daemon stops reading the socket. */
  queuedBytes: MAX_LINE_BYTES,
  /** Reply bytes the client has not read yet; past this no request starts and the daemon stops reading. */
  unsentBytes: 8 * 1024 * 1024,
  /** `wait`s sleeping at once on one connection; one more is refused with EBUSY. */
  waits: 256,
  /** A list reply (status, table, info, ls, deps, targets) longer than this goes out in parts of about this size. */
  replyPartBytes: 1024 * 1024,
} as const;

export interface ConnectionHandlers {
  /**
   * Serves one request; `signal` aborts when the connection closes (a `wait` then lets go); `warn` sends the
   * client a warning about the request ahead of its reply.
   */
  dispatch(request: Request, signal: AbortSignal, warn: (message: string) => void): Promise<unknown>;
  /** Turns the connection into an event stream (the `events` verb). */
  subscribe(id: number, device: string | undefined, reply: (r: Reply) => void): void;
}

export class ControlConnection {
  private readonly queue: { request: Request; bytes: number }[] = [];
  private queuedBytes = 0;
  /** A request other than `wait` is running (they run one at a time, in order). */
  private running = false;
  private waits = 0;
  /** Requests started and not yet answered, waits included. */
  private inFlight = 0;
  private clientDone = false;
  private readonly gone = new AbortController();

  constructor(
    private readonly socket: Socket,
    private readonly handlers: ConnectionHandlers,
  ) {
    const reader = new LineReader(
      MAX_LINE_BYTES,
      (line) => this.onLine(line),
      () => {
        this.dropQueue();
        this.reply({
          id: null,
          ok: false,
          error: toWireError(new InvalidArgumentError(`request line longer than ${MAX_LINE_BYTES} bytes`)),
        });
        socket.end();
      },
    );
    socket.on('data', (d: Buffer) => {
      reader.push(d);
      this.flow();
    });
    socket.on('drain', () => {
      this.flow();
      this.next();
    });
    // The client has sent all it will: answer what it asked, then close our side too. A `wait` is withdrawn:
    // a client that closed only its sending side (`... | nc -U`) cannot be told from one that is gone, and a
    // wait may sleep for ever, holding the connection (the kernel's dev_wait sleeps in the caller, which is there).
    socket.on('end', () => {
      this.clientDone = true;
      this.gone.abort(
        new IoError('wait: withdrawn because the client closed its side of the connection; keep it open to wait'),
      );
      this.endIfIdle();
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.dropQueue();
      this.gone.abort(new IoError('the client closed the connection'));
    });
  }

  private onLine(line: string): void {
    if (line.trim() === '') return;
    let request: Request;
    try {
      request = parseRequest(line);
    } catch (e) {
      const id = e instanceof RequestError ? e.requestId : null;
      return this.reply({ id, ok: false, error: toWireError(e) });
    }
    if (request.verb === 'events')
      return this.handlers.subscribe(request.id, request.args.device, (r) => this.reply(r));
    if (request.verb === 'wait') {
      // A wait may sleep for ever, so it does not hold up the requests behind it; their number is what is capped.
      if (this.waits >= CONNECTION_LIMITS.waits) {
        const e = new BusyError(
          `wait: this connection already has ${CONNECTION_LIMITS.waits} waits sleeping; wait on another connection or let one finish`,
        );
        return this.reply({ id: request.id, ok: false, error: toWireError(e) });
      }
      this.waits++;
      void this.run(request).finally(() => this.waits--);
      return;
    }
    this.queue.push({ request, bytes: line.length });
    this.queuedBytes += line.length;
    this.next();
  }

  /** Starts the next queued request unless one runs or the client has not read what it was sent. */
  private next(): void {
    if (this.running || this.socket.destroyed || this.unsentOverLimit()) return;
    const item = this.queue.shift();
    if (!item) return;
    this.queuedBytes -= item.bytes;
    this.running = true;
    void this.run(item.request).finally(() => {
      this.running = false;
      this.next();
    });
  }

  private async run(request: Request): Promise<void> {
    this.inFlight++;
    try {
      const warn = (warning: string): void => this.write(encodeLine({ id: request.id, warning }));
      const result = await this.handlers.dispatch(request, this.gone.signal, warn);
      await this.send(request.id, result);
    } catch (e) {
      this.reply({ id: request.id, ok: false, error: toWireError(e) });
    } finally {
      this.inFlight--;
      this.flow();
      this.endIfIdle();
    }
  }

  /**
   * Sends a result: a list whose encoding is longer than a part as `{"id", "part": [...]}` lines and a final
   * reply with the rest, each part waiting until the client has read the one before (the client joins them, as
   * dmsetup retries an ioctl with a bigger buffer when the kernel sets DM_BUFFER_FULL_FLAG).
   */
  private async send(id: number, result: unknown): Promise<void> {
    if (!Array.isArray(result)) {
      const line = encodeLine({ id, ok: true, result });
      if (Buffer.byteLength(line) > MAX_LINE_BYTES)
        throw new OverflowError(`the reply is longer than ${MAX_LINE_BYTES} bytes, the most one line may carry`);
      return this.write(line);
    }
    let part: string[] = [];
    let bytes = 0;
    for (const item of result) {
      const json = JSON.stringify(item);
      const size = Buffer.byteLength(json) + 1;
      if (size > MAX_LINE_BYTES - 64) {
        const name = (item as { name?: unknown }).name;
        throw new OverflowError(
          `one entry of the reply${typeof name === 'string' ? ` (device ${name})` : ''} is ${size} bytes, more than one line may carry (${MAX_LINE_BYTES})`,
        );
      }
      if (part.length > 0 && bytes + size > CONNECTION_LIMITS.replyPartBytes) {
        this.write(`{"id":${id},"part":[${part.join(',')}]}\n`);
        part = [];
        bytes = 0;
        await this.roomToWrite();
        if (this.socket.destroyed) return;
      }
      part.push(json);
      bytes += size;
    }
    this.write(`{"id":${id},"ok":true,"result":[${part.join(',')}]}\n`);
  }

  private reply(r: Reply): void {
    let line: string;
    try {
      line = encodeLine(r);
    } catch (e) {
      line = encodeLine({
        id: r.id,
        ok: false,
        error: { code: 'EIO', message: `the reply could not be encoded: ${(e as Error).message}` },
      });
    }
    this.write(line);
  }

  private write(line: string): void {
    if (this.socket.destroyed || !this.socket.writable) return;
    this.socket.write(line);
    this.flow();
  }

  /** Stops reading while requests pile up or replies go unread; reads again once both are below their limits. */
  private flow(): void {
    if (this.socket.destroyed) return;
    const full =
      this.queue.length >= CONNECTION_LIMITS.queuedRequests ||
      this.queuedBytes >= CONNECTION_LIMITS.queuedBytes ||
      this.unsentOverLimit();
    if (full) this.socket.pause();
    else if (this.socket.isPaused()) this.socket.resume();
  }

  private unsentOverLimit(): boolean {
    return this.socket.writableLength > CONNECTION_LIMITS.unsentBytes;
  }

  /** Resolves once the client has read enough of what it was sent (or is gone). */
  private roomToWrite(): Promise<void> {
    if (!this.unsentOverLimit() || this.socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.off('drain', done);
        this.socket.off('close', done);
        resolve();
      };
      this.socket.on('drain', done);
      this.socket.on('close', done);
    });
  }

  private dropQueue(): void {
    this.queue.length = 0;
    this.queuedBytes = 0;
  }

  private endIfIdle(): void {
    if (this.clientDone && this.inFlight === 0 && this.queue.length === 0 && !this.socket.destroyed) this.socket.end();
  }
}
