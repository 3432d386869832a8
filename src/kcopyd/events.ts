// kcopyd's events on the dm event bus: every job transition, sub-job progress, pool and queue counts,
// worker passes, throttle sleeps and I/O errors. The kernel has no tracepoints in dm-kcopyd.c; these are
// what a viewer (the TUI, a trace file) needs to redraw kcopyd's state from the events alone.

import type { KcopydFlags } from './types.js';

/** A region as events show it: the device's name, not the object. */
export interface KcopydRegionInfo {
  device: string;
  sector: number;
  count: number;
}

/** The kernel's four lists. */
export type KcopydList = 'pages_jobs' | 'io_jobs' | 'complete_jobs' | 'callback_jobs';

export type KcopydJobPhase =
  /** Dispatched onto a list (`list` says which): the kernel's dispatch_job / do_callback. */
  | 'queued'
  /** run_pages_job could not get its pages: back at the head of pages_jobs (head-of-line). */
  | 'pages-wait'
  | 'pages-taken'
  | 'read-issued'
  | 'read-done'
  | 'write-issued'
  | 'write-done'
  /** Failed before its I/O was issued (a WRITE_SEQ job whose master already failed). */
  | 'rogue'
  /** On complete_jobs: pages given back, about to run its callback. */
  | 'complete'
  /** The callback has returned. */
  | 'callback-done';

/** Fields every kcopyd event carries: which client. */
interface KcopydClientRef {
  client: number;
  owner: string;
}

export interface KcopydJobEvent extends KcopydClientRef {
  job: number;
  /** The master job's id (equal to `job` for a master or an unsplit job). */
  master: number;
  /** Sub-job slot 0..7 for a chunk of a split job, null otherwise. */
  slot: number | null;
  kind: 'copy' | 'zero' | 'callback';
  phase: KcopydJobPhase;
  /** The I/O the job does next (or did last, once written): a copy reads, then writes; a zero job only writes. */
  op: 'read' | 'write';
  /** For 'queued': the list it joined. */
  list: KcopydList | null;
  /** null for zero and callback jobs. */
  source: KcopydRegionInfo | null;
  dests: KcopydRegionInfo[];
  /** Offset of this (sub-)job within its master, in sectors. */
  offset: number;
  count: number;
  flags: Required<KcopydFlags>;
  /** Pages held (0 when none). */
  pages: number;
  readErr: boolean;
  writeErr: number;
}

interface KcopydProgressEvent extends KcopydClientRef {
  /** The master job. */
  job: number;
  totalSectors: number;
  /** Sectors handed out to sub-jobs so far (the kernel's `progress`). */
  handedOut: number;
  doneSectors: number;
  inFlight: number;
  chunks: number;
  chunksDone: number;
}

interface KcopydPoolEvent extends KcopydClientRef {
  reserveTotal: number;
  reserveFree: number;
  sharedUsed: number;
  engineSharedUsed: number;
  sharedLimit: number | null;
}

interface KcopydQueuesEvent extends KcopydClientRef {
  pagesJobs: number;
  ioJobs: number;
  completeJobs: number;
  callbackJobs: number;
  /** nr_jobs: outstanding jobs and prepared callbacks (destroy waits for 0). */
  nrJobs: number;
}

interface KcopydPassEvent extends KcopydClientRef {
  pass: number;
  /** 'resume': the rest of a pass that a throttle sleep interrupted. */
  kind: 'full' | 'resume';
  completed: number;
  paged: number;
  issued: number;
  /** pages_jobs stopped at a job that could not get its pages. */
  pagesBlocked: boolean;
  /** The pass ended in a throttle sleep. */
  sleeping: boolean;
}

interface KcopydIoErrorEvent extends KcopydClientRef {
  job: number;
  master: number;
  op: 'read' | 'write';
  /** Destination index for writes, null for the source read. */
  dest: number | null;
  device: string;
  sector: number;
  count: number;
  code: string;
  message: string;
}

interface KcopydClientEvent extends KcopydClientRef {
  action: 'create' | 'destroying' | 'destroyed';
  reservePages: number;
  subJobSectors: number;
  throttle: number;
}

interface KcopydThrottleEvent extends KcopydClientRef {
  job: number;
  sleepMs: number;
  sleeps: number;
  throttle: number;
}

declare module '../base/events.js' {
  interface DmEventMap {
    'kcopyd.client': KcopydClientEvent;
    'kcopyd.job': KcopydJobEvent;
    'kcopyd.progress': KcopydProgressEvent;
    'kcopyd.pool': KcopydPoolEvent;
    'kcopyd.queues': KcopydQueuesEvent;
    'kcopyd.pass': KcopydPassEvent;
    'kcopyd.io-error': KcopydIoErrorEvent;
    'kcopyd.throttle': KcopydThrottleEvent;
  }
}
