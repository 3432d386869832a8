// KcopydJob: struct kcopyd_job (drivers/md/dm-kcopyd.c). One record serves as a master, an unsplit job, a
// chunk of a split job (a sub-job) or a prepared callback. The kernel pre-allocates a master with its 8
// sub-job slots and re-fills a slot for each chunk; dmsim makes one record per chunk and keeps the slot number.

import type { PageSet } from './page-pool.js';
import type { IoRegion, KcopydFlags } from './types.js';

export type JobKind = 'copy' | 'zero' | 'callback';

/** What runs when the job completes on the worker: the user's notify, or the master's segment step. */
export type JobCompletion = (readErr: boolean, writeErr: number) => void;

export class KcopydJob {
  readonly id: number;
  readonly kind: JobKind;
  /** Self for a master (and for an unsplit job or callback). */
  readonly master: KcopydJob;
  readonly slot: number | null;
  readonly flags: Required<KcopydFlags>;
  /** The source region (null when zeroing or for a callback). */
  readonly source: IoRegion | null;
  readonly dests: readonly IoRegion[];
  /** Offset in the master, in sectors, and this job's length (the kernel's source.count). */
  readonly offset: number;
  readonly count: number;
  op: 'read' | 'write';
  readErr = false;
  writeErr = 0;
  pages: PageSet | null = null;
  completion: JobCompletion;

  // Master-only state for a split job (the kernel's lock-protected fields).
  /** Sectors handed out to chunks. */
  progress = 0;
  /** Slots still running (atomic sub_jobs). */
  subJobs = 0;
  /** WRITE_SEQ: the offset the next sequential write must have. */
  writeOffset = 0;
  doneSectors = 0;
  chunksDone = 0;
  inFlight = 0;

  constructor(init: {
    id: number;
    kind: JobKind;
    master: KcopydJob | null;
    slot: number | null;
    flags: Required<KcopydFlags>;
    source: IoRegion | null;
    dests: readonly IoRegion[];
    offset: number;
    count: number;
    completion: JobCompletion;
  }) {
    this.id = init.id;
    this.kind = init.kind;
    this.master = init.master ?? this;
    this.slot = init.slot;
    this.flags = init.flags;
    this.source = init.source;
    this.dests = init.dests;
    this.offset = init.offset;
    this.count = init.count;
    this.op = init.source ? 'read' : 'write';
    this.completion = init.completion;
  }

  get isMaster(): boolean {
    return this.master === this;
  }
}
