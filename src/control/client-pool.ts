// ControlClientPool: requests from one user on as many connections as they need. The daemon serves one
// connection's requests in order (as one ioctl call is served at a time per caller), so a request that blocks
// — a write held by a mirror with handle_errors until its leg is repaired — would hold up the very `resume`
// that releases it. The pool sends each request on an idle connection and opens another when all are busy.

import { ControlClient } from './client.js';
import type { Verb, VerbArgs, VerbResult } from './protocol.js';

/** Idle connections kept open for the next requests; more are closed when they come back. */
const MAX_IDLE = 2;

export class ControlClientPool {
  private readonly idle: ControlClient[] = [];
  private readonly open = new Set<ControlClient>();
  private closed = false;
  /** Called with each warning a reply carries (a table the daemon thinks is a mistake). */
  onWarning: ((message: string) => void) | undefined;

  private constructor(readonly socketPath: string) {}

  /** Connects once (rejecting with NoDaemonError when no daemon listens) and keeps that connection idle. */
  static async connect(socketPath: string): Promise<ControlClientPool> {
    const pool = new ControlClientPool(socketPath);
    pool.giveBack(pool.adopt(await ControlClient.connect(socketPath)));
    return pool;
  }

  request<V extends Verb>(verb: V, args: VerbArgs<V>): Promise<VerbResult<V>> {
    return this.borrow((c) => c.request(verb, args));
  }

  read(name: string, sector: number, count: number): Promise<Buffer> {
    return this.borrow((c) => c.read(name, sector, count));
  }

  write(name: string, sector: number, buf: Buffer): Promise<void> {
    return this.borrow((c) => c.write(name, sector, buf));
  }

  /** Closes every connection; requests still waiting fail. */
  close(): void {
    this.closed = true;
    for (const c of this.open) c.close();
    this.open.clear();
    this.idle.length = 0;
  }

  private async borrow<T>(fn: (client: ControlClient) => Promise<T>): Promise<T> {
    const client = this.idle.pop() ?? this.adopt(await ControlClient.connect(this.socketPath));
    try {
      return await fn(client);
    } finally {
      this.giveBack(client);
    }
  }

  private adopt(client: ControlClient): ControlClient {
    client.onWarning = (message) => this.onWarning?.(message);
    this.open.add(client);
    void client.closed.then(() => {
      this.open.delete(client);
      const i = this.idle.indexOf(client);
      if (i !== -1) this.idle.splice(i, 1);
    });
    return client;
  }

  private giveBack(client: ControlClient): void {
    if (this.closed || !this.open.has(client)) return;
    if (this.idle.length < MAX_IDLE) this.idle.push(client);
    else {
      this.open.delete(client);
      client.close();
    }
  }
}
