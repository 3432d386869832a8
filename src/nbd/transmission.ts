// The transmission phase of one NBD connection: reads requests, serves each one as soon as it has arrived
// (many in flight at once) and answers each with a simple reply when it finishes, so replies go out in
// completion order, not request order (proto.md "Transmission"; the kernel's nbd.c client matches them by
// handle). A request the server refuses gets the protocol's error and the connection carries on; only a
// broken header (wrong magic) or a vanished peer ends it.

import type { Socket } from 'node:net';
import { DmError } from '../base/errors.js';
import { SECTOR_SIZE } from '../base/size.js';
import { BufferPool } from './buffer-pool.js';
import {
  CMD_DISC,
  CMD_FLAG_FUA,
  CMD_FLAG_NO_HOLE,
  CMD_FLUSH,
  CMD_READ,
  CMD_TRIM,
  CMD_WRITE,
  CMD_WRITE_ZEROES,
  decodeRequestHeader,
  encodeSimpleReply,
  NBD_EINVAL,
  NBD_EIO,
  NBD_ENOSPC,
  NBD_EOVERFLOW,
  NBD_EPERM,
  NBD_ESHUTDOWN,
  REQUEST_HEADER_BYTES,
  type RequestHeader,
} from './codec.js';
import { isReadOnly, MAX_PAYLOAD_BYTES, type NbdExport, takesTrim } from './export.js';
import type { SocketReader } from './socket-reader.js';

/** Requests served at once per connection; the next header is not read until one finishes. */
const MAX_IN_FLIGHT = 64;
/** READ/WRITE bytes held at once per connection (a request bigger than this still runs, alone). */
const MAX_IN_FLIGHT_BYTES = 64 * 1024 * 1024;
/** Reply bytes queued for a client that does not read them, before the server stops taking requests. */
const MAX_REPLY_BACKLOG_BYTES = 64 * 1024 * 1024;
/** WRITE_ZEROES writes this many zero bytes per device write. */
const ZERO_CHUNK_BYTES = 1024 * 1024;
const ZEROES = Buffer.alloc(ZERO_CHUNK_BYTES);

/** A request that passed every check, in device units. */
interface Work {
  type: number;
  fua: boolean;
  handle: Buffer;
  sector: number;
  bytes: number;
  payload: Buffer | null;
}

export class TransmissionSession {
  private inFlight = 0;
  private inFlightBytes = 0;
  private shuttingDown = false;
  private readonly wakers: Array<() => void> = [];
  private readonly buffers = new BufferPool();

  constructor(
    private readonly socket: Socket,
    private readonly reader: SocketReader,
    readonly exp: NbdExport,
  ) {
    socket.on('drain', () => this.wake());
    socket.on('close', () => this.wake());
  }

  /** Serves requests until the client disconnects (DISC or a closed socket) or breaks the protocol. */
  async run(): Promise<void> {
    for (;;) {
      while (this.inFlight >= MAX_IN_FLIGHT || this.socket.writableLength > MAX_REPLY_BACKLOG_BYTES) {
        if (this.socket.destroyed) return;
        await new Promise<void>((resolve) => this.wakers.push(resolve));
      }
      // A ConnectionClosedError or a ProtocolError (bad magic) leaves run(): the caller closes the socket.
      const header = decodeRequestHeader(await this.reader.read(REQUEST_HEADER_BYTES));
      if (header.type === CMD_DISC) {
        // Soft disconnect: finish what is in flight, then close.
        await this.drain();
        this.socket.end();
        return;
      }
      const error = this.check(header);
      const carriesPayload = header.type === CMD_WRITE;
      if (error !== 0 || this.shuttingDown) {
        if (carriesPayload) await this.reader.skip(header.length);
        this.reply(error !== 0 ? error : NBD_ESHUTDOWN, header.handle);
        continue;
      }
      // Memory for data in flight is bounded: wait for earlier requests before taking (or reading) more.
      const dataBytes = header.type === CMD_READ || header.type === CMD_WRITE ? header.length : 0;
      while (this.inFlightBytes > 0 && this.inFlightBytes + dataBytes > MAX_IN_FLIGHT_BYTES) {
        await new Promise<void>((resolve) => this.wakers.push(resolve));
      }
      this.inFlightBytes += dataBytes;
      // (If the client vanishes in the middle of this payload, run() ends here and nothing reaches the device.)
      const payload = carriesPayload ? await this.reader.read(header.length) : null;
      this.inFlight++;
      const work: Work = {
        type: header.type,
        fua: (header.flags & CMD_FLAG_FUA) !== 0,
        handle: header.handle,
        sector: Number(header.offset) / SECTOR_SIZE,
        bytes: header.length,
        payload,
      };
      void this.serve(work).finally(() => {
        this.inFlight--;
        this.inFlightBytes -= dataBytes;
        this.wake();
      });
    }
  }

  /** Stops taking requests (later ones get ESHUTDOWN), lets those in flight finish, then closes the connection. */
  async shutdown(): Promise<void> {
    this.shuttingDown = true;
    await this.drain();
    if (!this.socket.destroyed) this.socket.end(() => this.socket.destroy());
  }

  /** The protocol's answer to a request that must not reach the device, or 0 when it may. */
  private check(h: RequestHeader): number {
    const known = [CMD_READ, CMD_WRITE, CMD_FLUSH, CMD_TRIM, CMD_WRITE_ZEROES];
    if (!known.includes(h.type)) return NBD_EINVAL;
    // A read-only export refuses anything that would write before looking further (nbdkit's order too).
    if (h.type !== CMD_READ && h.type !== CMD_FLUSH && isReadOnly(this.exp)) return NBD_EPERM;
    // TRIM to an export that does not offer it (the device takes no discards): EINVAL, as nbdkit answers.
    if (h.type === CMD_TRIM && !takesTrim(this.exp)) return NBD_EINVAL;
    // FUA may come on any command (proto.md: clients set it on reads too); NO_HOLE only on WRITE_ZEROES.
    const allowed = CMD_FLAG_FUA | (h.type === CMD_WRITE_ZEROES ? CMD_FLAG_NO_HOLE : 0);
    if ((h.flags & ~allowed) !== 0) return NBD_EINVAL;
    if (h.type === CMD_FLUSH) return h.offset === 0n && h.length === 0 ? 0 : NBD_EINVAL;
    if ((h.type === CMD_READ || h.type === CMD_WRITE) && h.length > MAX_PAYLOAD_BYTES) return NBD_EOVERFLOW;
    if (h.offset % BigInt(SECTOR_SIZE) !== 0n || h.length % SECTOR_SIZE !== 0) return NBD_EINVAL;
    const size = BigInt(this.exp.device.sizeSectors * SECTOR_SIZE);
    // Past the end: ENOSPC for what writes data (proto.md "Error values"), EINVAL for READ and TRIM (as nbdkit).
    if (h.offset + BigInt(h.length) > size)
      return h.type === CMD_WRITE || h.type === CMD_WRITE_ZEROES ? NBD_ENOSPC : NBD_EINVAL;
    return 0;
  }

  private async serve(w: Work): Promise<void> {
    const dev = this.exp.device;
    const count = w.bytes / SECTOR_SIZE;
    try {
      switch (w.type) {
        case CMD_READ: {
          const buf = this.buffers.take(w.bytes);
          try {
            if (count > 0) await dev.read(w.sector, buf);
          } catch (e) {
            this.buffers.give(buf);
            throw e;
          }
          this.reply(0, w.handle, buf);
          return;
        }
        case CMD_WRITE:
          if (count > 0) await dev.write(w.sector, w.payload!);
          break;
        case CMD_FLUSH:
          // Every write answered so far has completed on the device; the device's flush makes them durable.
          await dev.flush();
          break;
        case CMD_TRIM:
          if (count > 0) await dev.discard(w.sector, count);
          break;
        case CMD_WRITE_ZEROES:
          for (let done = 0; done < w.bytes; done += ZERO_CHUNK_BYTES) {
            const n = Math.min(ZERO_CHUNK_BYTES, w.bytes - done);
            await dev.write(w.sector + done / SECTOR_SIZE, ZEROES.subarray(0, n));
          }
          break;
      }
      if (w.fua && w.type !== CMD_READ && w.type !== CMD_FLUSH) await dev.flush();
      this.reply(0, w.handle);
    } catch (e) {
      this.reply(errorNumber(e), w.handle);
    }
  }

  private reply(error: number, handle: Buffer, data?: Buffer): void {
    // A client that went away loses its replies, never the writes already done.
    if (this.socket.destroyed || !this.socket.writable) {
      if (data) this.buffers.give(data);
      return;
    }
    this.socket.cork();
    this.socket.write(encodeSimpleReply(error, handle));
    // The buffer goes back to the pool once the socket has handed its bytes to the kernel (or failed).
    if (data) this.socket.write(data, () => this.buffers.give(data));
    this.socket.uncork();
  }

  private async drain(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((resolve) => this.wakers.push(resolve));
  }

  private wake(): void {
    for (const w of this.wakers.splice(0)) w();
  }
}

/** The NBD error number for a failure from the device (proto.md "Error values"). */
function errorNumber(e: unknown): number {
  if (!(e instanceof DmError)) return NBD_EIO;
  switch (e.code) {
    case 'EINVAL':
    // The protocol has no "not supported" for TRIM: a discard the device refuses is answered as a TRIM the
    // export does not offer (its table changed since the client connected).
    case 'EOPNOTSUPP':
      return NBD_EINVAL;
    case 'ENOSPC':
      return NBD_ENOSPC;
    case 'EROFS':
    case 'EPERM':
      return NBD_EPERM;
    default:
      return NBD_EIO;
  }
}
