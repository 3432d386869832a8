// KcopydEngineClient: one kcopyd client (struct dm_kcopyd_client and everything in drivers/md/dm-kcopyd.c that
// works on it): its four job lists, its page reserve, its worker pass (do_work), dispatch, the sub-job split
// (split_job / segment_complete), the I/O phases (run_pages_job / run_io_job / complete_io), callbacks and destroy.
//
// Deliberate differences from 6.1 (each also noted where it happens):
// - bad arguments are refused before any I/O (validate.ts);
// - a WRITE_SEQ chunk waiting for its turn becomes eligible once its master has failed, so it fails at once
//   instead of waiting forever (the kernel checks only the master's write_err and can stall after a read error);
// - the "all ones" write_err of a job that failed before its I/O is WRITE_ERR_ALL (32 bits, not 64);
// - no WRITE_ZEROES: a zero job writes from a zero buffer (BlockDevice has no write-zeroes operation).

import type { Clock } from '../base/clock.js';
import { InvalidArgumentError } from '../base/errors.js';
import type { EventBus } from '../base/events.js';
import { SECTORS_PER_PAGE } from '../base/size.js';
import type { KcopydJobPhase, KcopydList, KcopydRegionInfo } from './events.js';
import { KcopydJob } from './job.js';
import { ClientPages, type PagePool } from './page-pool.js';
import { type RegionFailure, readRegion, writeRegion } from './region-io.js';
import type { KcopydWorker, WorkerScheduler } from './scheduler.js';
import { type KcopydThrottle, THROTTLE_SLEEP_MS } from './throttle.js';
import {
  type InspectedJob,
  type IoRegion,
  type KcopydCallbackJob,
  type KcopydClient,
  type KcopydClientInspection,
  type KcopydFlags,
  type KcopydNotify,
  type KcopydResult,
  WRITE_ERR_ALL,
} from './types.js';
import { checkFlags, checkJob, describeRegion } from './validate.js';

/** SPLIT_COUNT: sub-job slots per master, so at most this many chunks of one job are in flight. */
const SPLIT_COUNT = 8;

/** What a client uses of its engine. */
export interface ClientServices {
  readonly bus: EventBus;
  readonly scheduler: WorkerScheduler;
  readonly pool: PagePool;
  readonly subJobSectors: number;
  readonly clock: Clock;
  /** subJobSectors * 512 bytes of zeros, never written into: the kernel's zero page list. */
  readonly zeroBuffer: Buffer;
  nextJobId(): number;
  /** Counts the I/O in flight (for idle detection) until `io` settles. */
  trackIo(io: Promise<void>): void;
  clientDestroyed(client: KcopydEngineClient): void;
}

export interface ClientSetup {
  id: number;
  owner: string;
  reservePages: number;
  throttle: KcopydThrottle | null;
}

type ClientState = 'live' | 'destroying' | 'destroyed';

export class KcopydEngineClient implements KcopydClient, KcopydWorker {
  readonly id: number;
  readonly owner: string;
  readonly throttle: KcopydThrottle | null;
  private readonly pages: ClientPages;
  private readonly pagesJobs: KcopydJob[] = [];
  private readonly ioJobs: KcopydJob[] = [];
  private readonly completeJobs: KcopydJob[] = [];
  private readonly callbackJobs: KcopydJob[] = [];
  /** nr_jobs: dispatched jobs, split masters and prepared callbacks not yet completed. */
  private nrJobs = 0;
  private state: ClientState = 'live';
  private destroyed: Promise<void> | null = null;
  private idleWaiters: (() => void)[] = [];
  private passes = 0;
  /** The job whose I/O waits out a throttle sleep (the kernel's worker sleeps inside run_io_job). */
  private sleepingJob: KcopydJob | null = null;
  private sleeps = 0;
  private wokenWhileAsleep = false;
  private resumeAfterSleep = false;
  /** Jobs already reported as waiting for pages (one 'pages-wait' event per wait). */
  private readonly waitingForPages = new Set<KcopydJob>();

  constructor(
    private readonly env: ClientServices,
    setup: ClientSetup,
  ) {
    this.id = setup.id;
    this.owner = setup.owner;
    this.throttle = setup.throttle;
    this.pages = new ClientPages(env.pool, setup.reservePages);
    this.emitClient('create');
    this.emitPool();
  }

  /** Outstanding jobs (nr_jobs). */
  get outstanding(): number {
    return this.nrJobs;
  }

  get reservePages(): number {
    return this.pages.reserveTotal;
  }

  /** The four lists' lengths and nr_jobs. */
  queueLengths(): { pagesJobs: number; ioJobs: number; completeJobs: number; callbackJobs: number; nrJobs: number } {
    return {
      pagesJobs: this.pagesJobs.length,
      ioJobs: this.ioJobs.length,
      completeJobs: this.completeJobs.length,
      callbackJobs: this.callbackJobs.length,
      nrJobs: this.nrJobs,
    };
  }

  inspect(): KcopydClientInspection {
    const jobs = (list: KcopydJob[]): InspectedJob[] =>
      list.map((j) => ({
        id: j.id,
        kind: j.kind,
        master: j.master.id,
        slot: j.slot,
        op: j.op,
        source: j.source ? describeRegion(j.source) : null,
        dests: j.dests.map(describeRegion),
        pages: j.pages?.count ?? 0,
        readErr: j.readErr,
        writeErr: j.writeErr,
      }));
    const t = this.throttle;
    return {
      id: this.id,
      owner: this.owner,
      lists: {
        complete: jobs(this.completeJobs),
        pages: jobs(this.pagesJobs),
        io: jobs(this.ioJobs),
        callback: jobs(this.callbackJobs),
      },
      nrJobs: this.nrJobs,
      pages: this.pages.counts(),
      throttle: t && {
        percent: t.throttle,
        ioMs: t.periods.io,
        totalMs: t.periods.total,
        inFlight: t.periods.inFlight,
      },
    };
  }

  // ---- submission (dm_kcopyd_copy / dm_kcopyd_zero / prepare / do_callback) ----

  copy<C>(from: IoRegion, dests: IoRegion[], flags: KcopydFlags, notify: KcopydNotify<C>, context: C): number {
    return this.submit(from, dests, flags, notify, context);
  }

  zero<C>(dests: IoRegion[], flags: KcopydFlags, notify: KcopydNotify<C>, context: C): number {
    return this.submit(null, dests, flags, notify, context);
  }

  copyAsync(from: IoRegion, dests: IoRegion[], flags: KcopydFlags = {}): Promise<KcopydResult> {
    return new Promise((resolve, reject) => {
      try {
        this.copy(from, dests, flags, (readErr, writeErr) => resolve({ readErr, writeErr }), undefined);
      } catch (e) {
        reject(e);
      }
    });
  }

  zeroAsync(dests: IoRegion[], flags: KcopydFlags = {}): Promise<KcopydResult> {
    return new Promise((resolve, reject) => {
      try {
        this.zero(dests, flags, (readErr, writeErr) => resolve({ readErr, writeErr }), undefined);
      } catch (e) {
        reject(e);
      }
    });
  }

  prepareCallback<C>(notify: KcopydNotify<C>, context: C): KcopydCallbackJob {
    this.checkLive();
    checkNotify(notify);
    const job = new KcopydJob({
      id: this.env.nextJobId(),
      kind: 'callback',
      master: null,
      slot: null,
      flags: { ignoreError: false, writeSeq: false },
      source: null,
      dests: [],
      offset: 0,
      count: 0,
      completion: (readErr, writeErr) => notify(readErr, writeErr, context),
    });
    this.nrJobs++; // counted from now: destroy() waits for it
    let done = false;
    return {
      doCallback: (readErr: boolean, writeErr: number) => {
        if (done)
          throw new InvalidArgumentError(
            `kcopyd: callback job ${job.id} of client ${this.id} (${this.owner}) was already done`,
          );
        done = true;
        job.readErr = Boolean(readErr);
        job.writeErr = writeErr >>> 0;
        this.push(this.callbackJobs, job, 'callback_jobs');
        this.wake();
        this.emitQueues();
      },
    };
  }

  destroy(): Promise<void> {
    if (!this.destroyed) {
      this.state = 'destroying';
      this.emitClient('destroying');
      this.destroyed = this.whenIdle().then(() => {
        this.state = 'destroyed';
        this.env.clientDestroyed(this);
        this.emitClient('destroyed');
      });
    }
    return this.destroyed;
  }

  private submit<C>(
    from: IoRegion | null,
    dests: IoRegion[],
    flags: KcopydFlags,
    notify: KcopydNotify<C>,
    context: C,
  ): number {
    this.checkLive();
    checkNotify(notify);
    const subJobSectors = this.env.subJobSectors;
    const { ignoreError, writeSeq } = checkFlags(flags);
    checkJob(from, dests, subJobSectors);
    const count = from ? from.count : dests[0]!.count;
    if (from && count > 0) {
      const needed = Math.ceil(Math.min(count, subJobSectors) / SECTORS_PER_PAGE);
      if (needed > this.pages.maxObtainable) {
        throw new InvalidArgumentError(
          `kcopyd: client ${this.id} (${this.owner}) can never hold the ${needed} pages one ${Math.min(count, subJobSectors)}-sector (sub-)job needs: its reserve is ${this.pages.reserveTotal} pages and the shared pool allows ${this.env.pool.sharedLimit} more; give the client more pages or use a smaller sub-job size`,
        );
      }
    }
    // If the writes must be sequential, errors cannot be ignored (dm_kcopyd_copy).
    const master = new KcopydJob({
      id: this.env.nextJobId(),
      kind: from ? 'copy' : 'zero',
      master: null,
      slot: null,
      flags: { ignoreError: ignoreError && !writeSeq, writeSeq },
      source: from ? { ...from } : null,
      dests: dests.map((d) => ({ ...d })),
      offset: 0,
      count,
      completion: (readErr, writeErr) => notify(readErr, writeErr, context),
    });
    if (count <= subJobSectors) this.dispatch(master);
    else this.split(master);
    this.emitQueues();
    return master.id;
  }

  /** dispatch_job: onto callback_jobs (nothing to copy), io_jobs (zeroing needs no pages) or pages_jobs. */
  private dispatch(job: KcopydJob): void {
    this.nrJobs++;
    if (job.count === 0) this.push(this.callbackJobs, job, 'callback_jobs');
    else if (job.kind === 'zero') this.push(this.ioJobs, job, 'io_jobs');
    else this.push(this.pagesJobs, job, 'pages_jobs');
    this.wake();
  }

  /** split_job: the master counts as one job; each of the 8 slots takes its first chunk right away. */
  private split(master: KcopydJob): void {
    this.nrJobs++;
    master.subJobs = SPLIT_COUNT;
    for (let slot = 0; slot < SPLIT_COUNT; slot++) this.segmentComplete(master, slot, null);
  }

  /**
   * segment_complete: record a finished chunk's errors in the master, then give the slot the next chunk
   * (ascending) unless an error stopped the job; the last slot to find no work queues the master's completion.
   */
  private segmentComplete(master: KcopydJob, slot: number, finished: KcopydJob | null): void {
    if (finished) {
      if (finished.readErr) master.readErr = true;
      master.writeErr = (master.writeErr | finished.writeErr) >>> 0;
      master.inFlight--;
      master.chunksDone++;
      master.doneSectors += finished.count;
    }
    let count = 0;
    const progress = master.progress;
    if ((!master.readErr && master.writeErr === 0) || master.flags.ignoreError) {
      count = Math.min(master.count - progress, this.env.subJobSectors);
      master.progress += count;
    }
    if (count > 0) {
      const sub: KcopydJob = new KcopydJob({
        id: this.env.nextJobId(),
        kind: master.kind,
        master,
        slot,
        flags: master.flags,
        source: master.source ? { ...master.source, sector: master.source.sector + progress, count } : null,
        dests: master.dests.map((d) => ({ ...d, sector: d.sector + progress, count })),
        offset: progress,
        count,
        completion: () => this.segmentComplete(master, slot, sub),
      });
      master.inFlight++;
      this.emitProgress(master);
      this.dispatch(sub);
    } else {
      if (finished) this.emitProgress(master);
      if (--master.subJobs === 0) {
        // Always through the worker: callers rely on completions being serialised there.
        this.push(this.completeJobs, master, 'complete_jobs');
        this.wake();
      }
    }
  }

  // ---- the worker ----

  private wake(): void {
    if (this.sleepingJob) this.wokenWhileAsleep = true;
    else this.env.scheduler.wake(this);
  }

  /** do_work(). The order is the kernel's: complete jobs free pages for pages jobs, which feed io jobs. */
  runPass(): void {
    if (this.sleepingJob && !this.resumeAfterSleep) {
      this.wokenWhileAsleep = true; // the worker is blocked in its sleep; this wake runs after it
      return;
    }
    let completed = 0;
    let paged = 0;
    let blocked = false;
    let kind: 'full' | 'resume' = 'resume';
    if (this.resumeAfterSleep) {
      this.resumeAfterSleep = false;
    } else {
      kind = 'full';
      this.passes++;
      for (const job of this.callbackJobs.splice(0)) this.completeJobs.push(job);
      completed = this.processCompleteJobs();
      [paged, blocked] = this.processPagesJobs();
    }
    const issued = this.processIoJobs();
    const sleeping = this.sleepingJob !== null;
    if (!sleeping && this.wokenWhileAsleep) {
      this.wokenWhileAsleep = false;
      this.env.scheduler.wake(this);
    }
    if (this.env.bus.wants('kcopyd.pass')) {
      this.env.bus.emit('kcopyd.pass', {
        ...this.ref(),
        pass: this.passes,
        kind,
        completed,
        paged,
        issued,
        pagesBlocked: blocked,
        sleeping,
      });
    }
    this.emitQueues();
  }

  private processCompleteJobs(): number {
    let n = 0;
    for (let job = this.completeJobs.shift(); job; job = this.completeJobs.shift()) {
      this.runCompleteJob(job);
      n++;
    }
    return n;
  }

  /** run_complete_job: pages back, then the callback, then nr_jobs--. */
  private runCompleteJob(job: KcopydJob): void {
    this.emitJob(job, 'complete');
    if (job.pages) {
      this.pages.put(job.pages);
      job.pages = null;
      this.emitPool();
    }
    try {
      job.completion(job.readErr, job.writeErr);
    } catch (e) {
      // A throwing callback is a bug in the caller; the worker carries on and the error surfaces on its own.
      queueMicrotask(() => {
        throw e;
      });
    }
    this.emitJob(job, 'callback-done');
    if (--this.nrJobs === 0) {
      for (const resolve of this.idleWaiters.splice(0)) resolve();
    }
  }

  /** run_pages_job over pages_jobs; a job that cannot get its pages goes back to the head and stops the list. */
  private processPagesJobs(): [number, boolean] {
    let n = 0;
    for (let job = this.pagesJobs.shift(); job; job = this.pagesJobs.shift()) {
      const need = Math.ceil(job.dests[0]!.count / SECTORS_PER_PAGE); // sized from dests[0], as the kernel does
      const pages = this.pages.take(need);
      if (!pages) {
        this.pagesJobs.unshift(job);
        if (!this.waitingForPages.has(job)) {
          this.waitingForPages.add(job);
          this.emitJob(job, 'pages-wait');
        }
        return [n, true];
      }
      this.waitingForPages.delete(job);
      job.pages = pages;
      this.ioJobs.push(job);
      this.emitJob(job, 'pages-taken');
      this.emitPool();
      n++;
    }
    return [n, false];
  }

  /** run_io_job over io_jobs, in pop_io_job's order; stops at a failed job, a throttle sleep or the end. */
  private processIoJobs(): number {
    let n = 0;
    for (;;) {
      const job = this.sleepingJob ?? this.popIoJob();
      if (!job) return n;
      if (!this.sleepingJob && job.flags.writeSeq && (job.master.writeErr !== 0 || job.master.readErr)) {
        // Sequential writes after a failure are pointless: fail this job without I/O (a "rogue" job).
        job.writeErr = job.master.writeErr;
        if (job.op === 'write') job.writeErr = WRITE_ERR_ALL;
        else job.readErr = true;
        this.emitJob(job, 'rogue');
        this.push(this.completeJobs, job, 'complete_jobs');
        this.wake();
        return n;
      }
      if (this.throttle?.mustWait(this.env.clock.now(), this.sleeps)) {
        this.sleep(job);
        return n;
      }
      this.sleepingJob = null;
      this.sleeps = 0;
      this.throttle?.started();
      this.issue(job);
      n++;
    }
  }

  /** pop_io_job: reads and unordered writes from the front; a WRITE_SEQ write only when it is its turn. */
  private popIoJob(): KcopydJob | undefined {
    for (let i = 0; i < this.ioJobs.length; i++) {
      const job = this.ioJobs[i]!;
      const master = job.master;
      if (job.op === 'read' || !job.flags.writeSeq) return this.ioJobs.splice(i, 1)[0];
      // dmsim: once the master failed, the waiting chunk goes through to fail (the kernel would stall).
      if (job.offset === master.writeOffset || master.readErr || master.writeErr !== 0) {
        if (job.offset === master.writeOffset) master.writeOffset += job.count;
        return this.ioJobs.splice(i, 1)[0];
      }
    }
    return undefined;
  }

  /** io_job_start's fsleep: the whole worker stops for 100 ms (on the engine clock), then carries on. */
  private sleep(job: KcopydJob): void {
    this.sleepingJob = job;
    this.sleeps++;
    if (this.env.bus.wants('kcopyd.throttle')) {
      this.env.bus.emit('kcopyd.throttle', {
        ...this.ref(),
        job: job.id,
        sleepMs: THROTTLE_SLEEP_MS,
        sleeps: this.sleeps,
        throttle: this.throttle?.throttle ?? 100,
      });
    }
    this.env.clock.setTimer(THROTTLE_SLEEP_MS, () => {
      this.resumeAfterSleep = true;
      this.env.scheduler.wake(this);
    });
  }

  private issue(job: KcopydJob): void {
    if (job.op === 'read') {
      const source = job.source!;
      this.emitJob(job, 'read-issued');
      this.env.trackIo(
        readRegion(source.bdev, source.sector, job.count, job.pages!.buffer).then((failures) => {
          this.reportFailures(job, 'read', null, source, failures);
          this.completeIo(job, failures.length > 0 ? 1 : 0);
        }),
      );
    } else {
      const buffer = job.pages ? job.pages.buffer : this.env.zeroBuffer;
      this.emitJob(job, 'write-issued');
      this.env.trackIo(
        Promise.all(job.dests.map((d) => writeRegion(d.bdev, d.sector, d.count, buffer))).then((results) => {
          let bits = 0;
          results.forEach((failures, i) => {
            if (failures.length === 0) return;
            bits |= 1 << i;
            this.reportFailures(job, 'write', i, job.dests[i]!, failures);
          });
          this.completeIo(job, bits >>> 0);
        }),
      );
    }
  }

  /** complete_io: record errors; a failed phase without IGNORE_ERROR completes; a read goes on to write. */
  private completeIo(job: KcopydJob, error: number): void {
    this.throttle?.finished(this.env.clock.now());
    const wasRead = job.op === 'read';
    if (error) {
      if (wasRead) job.readErr = true;
      else job.writeErr = (job.writeErr | error) >>> 0;
    }
    this.emitJob(job, wasRead ? 'read-done' : 'write-done');
    if (error && !job.flags.ignoreError) {
      this.push(this.completeJobs, job, 'complete_jobs');
    } else if (!wasRead) {
      this.push(this.completeJobs, job, 'complete_jobs');
    } else {
      job.op = 'write'; // failed pages were zero-filled: with IGNORE_ERROR the zeros are written
      this.push(this.ioJobs, job, 'io_jobs');
    }
    this.wake();
    this.emitQueues();
  }

  // ---- helpers ----

  private push(list: KcopydJob[], job: KcopydJob, name: KcopydList): void {
    list.push(job);
    this.emitJob(job, 'queued', name);
  }

  private whenIdle(): Promise<void> {
    if (this.nrJobs === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private checkLive(): void {
    if (this.state === 'destroyed') {
      throw new InvalidArgumentError(
        `kcopyd: client ${this.id} (${this.owner}) has been destroyed; create a new client`,
      );
    }
  }

  private ref(): { client: number; owner: string } {
    return { client: this.id, owner: this.owner };
  }

  private emitJob(job: KcopydJob, phase: KcopydJobPhase, list: KcopydList | null = null): void {
    if (!this.env.bus.wants('kcopyd.job')) return;
    this.env.bus.emit('kcopyd.job', {
      ...this.ref(),
      job: job.id,
      master: job.master.id,
      slot: job.slot,
      kind: job.kind,
      phase,
      op: job.op,
      list,
      source: job.source ? regionInfo(job.source) : null,
      dests: job.dests.map(regionInfo),
      offset: job.offset,
      count: job.count,
      flags: job.flags,
      pages: job.pages ? job.pages.count : 0,
      readErr: job.readErr,
      writeErr: job.writeErr,
    });
  }

  private emitProgress(master: KcopydJob): void {
    if (!this.env.bus.wants('kcopyd.progress')) return;
    this.env.bus.emit('kcopyd.progress', {
      ...this.ref(),
      job: master.id,
      totalSectors: master.count,
      handedOut: master.progress,
      doneSectors: master.doneSectors,
      inFlight: master.inFlight,
      chunks: Math.ceil(master.count / this.env.subJobSectors),
      chunksDone: master.chunksDone,
    });
  }

  private emitPool(): void {
    if (!this.env.bus.wants('kcopyd.pool')) return;
    this.env.bus.emit('kcopyd.pool', { ...this.ref(), ...this.pages.counts() });
  }

  private emitQueues(): void {
    if (!this.env.bus.wants('kcopyd.queues')) return;
    this.env.bus.emit('kcopyd.queues', { ...this.ref(), ...this.queueLengths() });
  }

  private emitClient(action: 'create' | 'destroying' | 'destroyed'): void {
    if (!this.env.bus.wants('kcopyd.client')) return;
    this.env.bus.emit('kcopyd.client', {
      ...this.ref(),
      action,
      reservePages: this.pages.reserveTotal,
      subJobSectors: this.env.subJobSectors,
      throttle: this.throttle?.throttle ?? 100,
    });
  }

  private reportFailures(
    job: KcopydJob,
    op: 'read' | 'write',
    dest: number | null,
    region: IoRegion,
    failures: RegionFailure[],
  ): void {
    if (this.env.bus.listenerCount === 0) return;
    // A chunk of a split job is named with its master (the job the panels list), and with its own region.
    const issuer = job.master === job ? `kcopyd job ${job.id}` : `kcopyd sub-job ${job.id} of job ${job.master.id}`;
    const what = op === 'read' ? `reading ${describeRegion(region)}` : `writing ${describeRegion(region)}`;
    const destination = dest === null ? '' : ` (destination ${dest})`;
    for (const f of failures) {
      const code = errorCode(f.error);
      const message = `${issuer} ${what}${destination}: ${f.error.message}`;
      this.env.bus.emit('io.error', {
        device: region.bdev.name,
        op,
        sector: f.sector,
        count: f.count,
        code,
        message,
        issuer,
      });
      this.env.bus.emit('kcopyd.io-error', {
        ...this.ref(),
        job: job.id,
        master: job.master.id,
        op,
        dest,
        device: region.bdev.name,
        sector: f.sector,
        count: f.count,
        code,
        message,
      });
    }
  }
}

function regionInfo(r: IoRegion): KcopydRegionInfo {
  return { device: r.bdev.name, sector: r.sector, count: r.count };
}

function errorCode(e: Error): string {
  const code = (e as { code?: unknown }).code;
  return typeof code === 'string' ? code : 'EIO';
}

function checkNotify(notify: unknown): void {
  if (typeof notify !== 'function') throw new InvalidArgumentError('kcopyd: the notify callback must be a function');
}
