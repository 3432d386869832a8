// ChunkTracker: I/O in flight per chunk (the kernel's track_chunk / __chunk_is_tracked): a pending exception does
// not release the origin until snapshot reads that went to the origin for that chunk have finished, and a merge
// waits for writes to the chunks it is about to overwrite.

export class ChunkTracker {
  private readonly inFlight = new Map<number, number>();
  private readonly drained = new Map<number, Array<() => void>>();

  /** Runs io with the chunk marked busy. */
  async track<T>(chunk: number, io: () => Promise<T>): Promise<T> {
    this.inFlight.set(chunk, (this.inFlight.get(chunk) ?? 0) + 1);
    try {
      return await io();
    } finally {
      const left = (this.inFlight.get(chunk) ?? 1) - 1;
      if (left > 0) this.inFlight.set(chunk, left);
      else {
        this.inFlight.delete(chunk);
        const waiters = this.drained.get(chunk) ?? [];
        this.drained.delete(chunk);
        for (const w of waiters) w();
      }
    }
  }

  /** Resolves when no tracked I/O on the chunk is in flight. */
  async drain(chunk: number): Promise<void> {
    while (this.inFlight.has(chunk)) {
      await new Promise<void>((resolve) => {
        const list = this.drained.get(chunk) ?? [];
        list.push(resolve);
        this.drained.set(chunk, list);
      });
    }
  }
}
