// SocketReader: reads exact byte counts from a stream socket, the way nbd-server's readit() and the kernel
// nbd client's sock_xmit() loop until a whole header or payload has arrived. Pauses the socket while it
// holds more than it was asked for (backpressure on a client that sends faster than the device writes).

import type { Socket } from 'node:net';

/** The peer closed the connection (or it failed) before the bytes a read waited for arrived. */
export class ConnectionClosedError extends Error {
  constructor(
    /** True when the peer closed cleanly between messages, with nothing half-sent. */
    readonly atBoundary: boolean,
    message: string,
  ) {
    super(message);
  }
}

/** Buffered bytes beyond which the socket is paused until reads catch up. */
const HIGH_WATER_BYTES = 4 * 1024 * 1024;

export class SocketReader {
  private readonly chunks: Buffer[] = [];
  private buffered = 0;
  private waiting: { n: number; resolve(): void; reject(e: Error): void } | null = null;
  private closed: string | null = null;

  constructor(private readonly socket: Socket) {
    socket.on('data', (d: Buffer) => {
      this.chunks.push(d);
      this.buffered += d.length;
      // Never pause while a read waits for more than is here: that read would wait for ever.
      if (this.buffered > HIGH_WATER_BYTES && (this.waiting === null || this.buffered >= this.waiting.n))
        socket.pause();
      this.wake();
    });
    socket.on('end', () => this.close('the client closed the connection'));
    socket.on('close', () => this.close('the connection closed'));
    socket.on('error', (e) => this.close(`the connection failed: ${e.message}`));
  }

  /** Resolves with exactly n bytes, or rejects with ConnectionClosedError. */
  async read(n: number): Promise<Buffer> {
    await this.wait(n);
    return this.take(n);
  }

  /** Consumes n bytes without keeping them (a payload the server refuses must still be read past). */
  async skip(n: number): Promise<void> {
    let left = n;
    while (left > 0) {
      const step = Math.min(left, HIGH_WATER_BYTES);
      await this.wait(step);
      this.drop(step);
      left -= step;
    }
  }

  private wait(n: number): Promise<void> {
    if (this.buffered >= n) return Promise.resolve();
    if (this.closed !== null) return Promise.reject(this.closedError());
    if (this.socket.isPaused()) this.socket.resume();
    return new Promise((resolve, reject) => {
      this.waiting = { n, resolve, reject };
    });
  }

  private wake(): void {
    const w = this.waiting;
    if (w && this.buffered >= w.n) {
      this.waiting = null;
      w.resolve();
    }
  }

  private close(why: string): void {
    if (this.closed !== null) return;
    this.closed = why;
    const w = this.waiting;
    this.waiting = null;
    w?.reject(this.closedError());
  }

  private closedError(): ConnectionClosedError {
    return new ConnectionClosedError(this.buffered === 0, this.closed ?? 'the connection closed');
  }

  private take(n: number): Buffer {
    const first = this.chunks[0];
    let out: Buffer;
    if (first !== undefined && first.length >= n) {
      out = first.subarray(0, n);
      if (first.length === n) this.chunks.shift();
      else this.chunks[0] = first.subarray(n);
    } else {
      out = Buffer.allocUnsafe(n);
      let at = 0;
      while (at < n) {
        const c = this.chunks[0]!;
        const k = Math.min(c.length, n - at);
        c.copy(out, at, 0, k);
        at += k;
        if (k === c.length) this.chunks.shift();
        else this.chunks[0] = c.subarray(k);
      }
    }
    this.consumed(n);
    return out;
  }

  private drop(n: number): void {
    let left = n;
    while (left > 0) {
      const c = this.chunks[0]!;
      if (c.length <= left) {
        this.chunks.shift();
        left -= c.length;
      } else {
        this.chunks[0] = c.subarray(left);
        left = 0;
      }
    }
    this.consumed(n);
  }

  private consumed(n: number): void {
    this.buffered -= n;
    if (this.buffered <= HIGH_WATER_BYTES && this.socket.isPaused() && this.closed === null) this.socket.resume();
  }
}
