// Worker scheduler: who runs kcopyd's worker passes. The kernel queues one work item per client on the
// "kcopyd" workqueue (drivers/md/dm-kcopyd.c wake() -> queue_work()); here every client of an engine hands its
// pass to ONE scheduler, so the whole engine can run freely, be paused, or be single-stepped pass by pass.
//
// queue_work semantics: waking a worker that is already pending is a no-op; waking it while its pass runs
// queues exactly one more pass (the pending flag is cleared before the pass starts).

/** A kcopyd client's worker as the scheduler sees it. */
export interface KcopydWorker {
  /** Client id and owner, for whoever shows the pending queue. */
  readonly id: number;
  readonly owner: string;
  /** One pass of do_work(): callbacks -> complete, complete, pages, io. Never throws. */
  runPass(): void;
}

export interface WorkerScheduler {
  /** queue_work(): asks for one pass of `worker` (no-op if one is already pending). */
  wake(worker: KcopydWorker): void;
  /** Runs exactly one pending pass (the oldest); false when nothing is pending. Works while paused. */
  step(): boolean;
  /** Stops running passes by itself; wakes keep accumulating. */
  pause(): void;
  resume(): void;
  readonly paused: boolean;
  /** Workers with a pass pending, oldest first. */
  readonly pending: readonly KcopydWorker[];
}

/** The pending set, FIFO and de-duplicated: shared by both schedulers. */
abstract class PassQueue implements WorkerScheduler {
  private readonly queue: KcopydWorker[] = [];
  private readonly queued = new Set<KcopydWorker>();
  abstract readonly paused: boolean;

  wake(worker: KcopydWorker): void {
    if (this.queued.has(worker)) return;
    this.queued.add(worker);
    this.queue.push(worker);
    this.onWake();
  }

  step(): boolean {
    const worker = this.queue.shift();
    if (!worker) return false;
    this.queued.delete(worker); // cleared before the pass: a wake during the pass queues one more
    worker.runPass();
    return true;
  }

  get pending(): readonly KcopydWorker[] {
    return this.queue;
  }

  abstract pause(): void;
  abstract resume(): void;
  protected abstract onWake(): void;
}

/**
 * Runs pending passes on its own, one round per setImmediate turn (so I/O completions interleave with
 * passes as they do with a workqueue). Can be paused, stepped while paused, and resumed.
 */
export class AutoScheduler extends PassQueue {
  private isPaused: boolean;
  private scheduled = false;

  constructor(options: { paused?: boolean } = {}) {
    super();
    this.isPaused = options.paused ?? false;
  }

  get paused(): boolean {
    return this.isPaused;
  }

  pause(): void {
    this.isPaused = true;
  }

  resume(): void {
    this.isPaused = false;
    this.schedule();
  }

  protected onWake(): void {
    this.schedule();
  }

  private schedule(): void {
    if (this.scheduled || this.isPaused || this.pending.length === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      if (this.isPaused) return;
      // One round: the passes pending now. Passes woken during the round run in the next turn.
      for (let n = this.pending.length; n > 0 && !this.isPaused; n--) this.step();
      this.schedule();
    });
  }
}

/** Runs nothing by itself: each step() runs exactly one pending pass (step mode, deterministic tests). */
export class ManualScheduler extends PassQueue {
  readonly paused = true;
  pause(): void {}
  resume(): void {}
  protected onWake(): void {}
}
