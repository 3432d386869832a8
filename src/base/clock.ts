// Clocks for time-driven targets (flakey's up/down intervals, delay's queue): the kernel's jiffies + timers.
// SystemClock is wall time; ManualClock only moves when a test (or a stepped lesson) calls advance().

/** Milliseconds and timers: wall time in production, stepped by hand in tests and lessons. */
export interface Clock {
  now(): number;
  /** Runs fn after ms; returns a cancel function. */
  setTimer(ms: number, fn: () => void): () => void;
}

export class SystemClock implements Clock {
  now(): number {
    return Date.now();
  }

  setTimer(ms: number, fn: () => void): () => void {
    const t = setTimeout(fn, Math.max(0, ms));
    // A pending delay must not keep a finished process alive.
    t.unref?.();
    return () => clearTimeout(t);
  }
}

interface ManualTimer {
  due: number;
  seq: number;
  fn: () => void;
}

export class ManualClock implements Clock {
  private time: number;
  private seq = 0;
  private readonly timers = new Set<ManualTimer>();

  constructor(start = 0) {
    this.time = start;
  }

  now(): number {
    return this.time;
  }

  setTimer(ms: number, fn: () => void): () => void {
    const timer: ManualTimer = { due: this.time + Math.max(0, ms), seq: this.seq++, fn };
    this.timers.add(timer);
    return () => this.timers.delete(timer);
  }

  /** Timers not yet fired. */
  get pending(): number {
    return this.timers.size;
  }

  /**
   * Moves time forward by ms, firing every timer that falls due, earliest first (ties in the order they were set);
   * the clock reads each timer's due time while it runs. Timers set by a firing timer fire too if they fall due.
   */
  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      let next: ManualTimer | undefined;
      for (const t of this.timers) {
        if (t.due <= end && (!next || t.due < next.due || (t.due === next.due && t.seq < next.seq))) next = t;
      }
      if (!next) break;
      this.timers.delete(next);
      this.time = Math.max(this.time, next.due);
      next.fn();
    }
    this.time = end;
  }
}
