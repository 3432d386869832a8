// BufferPool: read buffers reused once the socket has taken their bytes, as nbdkit's threads reuse theirs.
// A fresh multi-MiB Buffer is a fresh mmap: every page faults in on the first read into it and the garbage
// collector has to find it again; reusing a few buffers keeps a 2 MiB READ to one copy in, one copy out.

/** Buffers kept per size; more than this in use at once are simply allocated and dropped. */
const KEEP_PER_SIZE = 16;
/** Sizes above this are not kept (a client that reads 32 MiB at a time gets fresh buffers). */
const MAX_KEPT_BYTES = 4 * 1024 * 1024;

export class BufferPool {
  private readonly free = new Map<number, Buffer[]>();

  take(bytes: number): Buffer {
    return this.free.get(bytes)?.pop() ?? Buffer.allocUnsafe(bytes);
  }

  /** Gives a buffer back; the caller must not touch it again. */
  give(buf: Buffer): void {
    if (buf.length > MAX_KEPT_BYTES || buf.length === 0) return;
    let list = this.free.get(buf.length);
    if (!list) {
      list = [];
      this.free.set(buf.length, list);
    }
    if (list.length < KEEP_PER_SIZE) list.push(buf);
  }
}
