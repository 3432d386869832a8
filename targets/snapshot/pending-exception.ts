// PendingException: a chunk whose copy to the COW is in flight (the kernel's struct dm_snap_pending_exception).
// Writes that need the chunk wait on `done`, which settles once the record is committed (or the copy failed).

export class PendingException {
  readonly oldChunk: number;
  readonly newChunk: number;
  /** Allocation order: commits happen in this order whatever order the copies finish in. */
  readonly sequence: number;
  /** A copy (or a whole-chunk snapshot write) has been started for it. */
  started = false;
  /** Resolves true when the exception is complete, false when the snapshot lost it. */
  readonly done: Promise<boolean>;
  private settle!: (ok: boolean) => void;

  constructor(oldChunk: number, newChunk: number, sequence: number) {
    this.oldChunk = oldChunk;
    this.newChunk = newChunk;
    this.sequence = sequence;
    this.done = new Promise<boolean>((resolve) => {
      this.settle = resolve;
    });
  }

  finish(ok: boolean): void {
    this.settle(ok);
  }
}
