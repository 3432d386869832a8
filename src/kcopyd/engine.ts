// KcopydEngine: what all kcopyd clients of one device-mapper share — the worker scheduler (one for the whole
// engine, so it can be paused and stepped as a unit), the shared page pool (the kernel's page allocator,
// optionally limited), the sub-job size (dm_mod.kcopyd_subjob_size_kb, read at client creation in the
// kernel; fixed per engine here), the clock for throttling and the event bus. drivers/md/dm-kcopyd.c keeps
// these as module globals; dmsim makes them an object so several independent engines can coexist.

import type { Clock } from '../base/clock.js';
import { InvalidArgumentError } from '../base/errors.js';
import { defaultBus, type EventBus } from '../base/events.js';
import { SECTOR_SIZE } from '../base/size.js';
import { type ClientServices, KcopydEngineClient } from './client.js';
import type { KcopydEnvironment } from './environment.js';
import { PagePool } from './page-pool.js';
import { AutoScheduler, type WorkerScheduler } from './scheduler.js';
import { KcopydThrottle } from './throttle.js';
import type { KcopydClientOptions } from './types.js';

/** kcopyd_subjob_size_kb's default (512 KiB) and maximum (1024 KiB), in sectors. */
const DEFAULT_SUB_JOB_SECTORS = 1024;
const MAX_SUB_JOB_SECTORS = 2048;
const MIN_SUB_JOB_SECTORS = 8;

export interface KcopydEngineOptions {
  bus?: EventBus;
  scheduler?: WorkerScheduler;
  /** Sectors per sub-job, 8..2048 (default 1024). */
  subJobSectors?: number;
  /** Pages all clients together may take beyond their reserves; default unlimited (the allocator never fails). */
  sharedPoolPages?: number;
  /** Time for the throttle (default: the real clock). */
  clock?: Clock;
}

const realClock: Clock = {
  now: () => Date.now(),
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
};

export class KcopydEngine implements KcopydEnvironment {
  readonly bus: EventBus;
  readonly scheduler: WorkerScheduler;
  readonly subJobSectors: number;
  readonly clock: Clock;
  private readonly pool: PagePool;
  private readonly services: ClientServices;
  private readonly live = new Set<KcopydEngineClient>();
  private nextClientId = 1;
  private jobIds = 0;
  private ioInFlight = 0;
  private ioIdleWaiters: (() => void)[] = [];

  constructor(options: KcopydEngineOptions = {}) {
    this.bus = options.bus ?? defaultBus;
    this.scheduler = options.scheduler ?? new AutoScheduler();
    this.clock = options.clock ?? realClock;
    const sub = options.subJobSectors ?? DEFAULT_SUB_JOB_SECTORS;
    if (!Number.isInteger(sub) || sub < MIN_SUB_JOB_SECTORS || sub > MAX_SUB_JOB_SECTORS) {
      throw new InvalidArgumentError(
        `kcopyd: sub-job size must be a whole number of sectors from ${MIN_SUB_JOB_SECTORS} to ${MAX_SUB_JOB_SECTORS} (4 KiB to 1 MiB), got ${String(sub)}`,
      );
    }
    this.subJobSectors = sub;
    const shared = options.sharedPoolPages ?? Infinity;
    if (shared !== Infinity && (!Number.isSafeInteger(shared) || shared < 0)) {
      throw new InvalidArgumentError(
        `kcopyd: shared pool size must be a whole number of pages >= 0, got ${String(shared)}`,
      );
    }
    this.pool = new PagePool(shared);
    const zeroBuffer = Buffer.alloc(sub * SECTOR_SIZE);
    this.services = {
      bus: this.bus,
      scheduler: this.scheduler,
      pool: this.pool,
      subJobSectors: sub,
      clock: this.clock,
      zeroBuffer,
      nextJobId: () => ++this.jobIds,
      trackIo: (io) => this.trackIo(io),
      clientDestroyed: (c) => this.live.delete(c),
    };
  }

  /** Pages one sub-job of the maximum size needs: the default reserve (128 at 1024 sectors). */
  get defaultReservePages(): number {
    return Math.ceil((this.subJobSectors * SECTOR_SIZE) / 4096);
  }

  createClient(options: KcopydClientOptions): KcopydEngineClient {
    if (typeof options?.owner !== 'string' || options.owner.trim() === '') {
      throw new InvalidArgumentError('kcopyd: a client needs an owner name (e.g. "snapshot", "mirror", "copy")');
    }
    const reservePages = options.reservePages ?? this.defaultReservePages;
    if (!Number.isSafeInteger(reservePages) || reservePages < 0) {
      throw new InvalidArgumentError(
        `kcopyd: reserve must be a whole number of pages >= 0, got ${String(reservePages)}`,
      );
    }
    const t = options.throttle;
    const throttle = t === undefined ? null : t instanceof KcopydThrottle ? t : new KcopydThrottle(t);
    const client = new KcopydEngineClient(this.services, {
      id: this.nextClientId++,
      owner: options.owner,
      reservePages,
      throttle,
    });
    this.live.add(client);
    return client;
  }

  /** Clients not yet destroyed. */
  get clients(): readonly KcopydEngineClient[] {
    return [...this.live];
  }

  /** Region reads and writes currently in flight on the devices. */
  get ioPending(): number {
    return this.ioInFlight;
  }

  /** Resolves once no region I/O is in flight (with a manual scheduler: before the next step is useful). */
  whenIoIdle(): Promise<void> {
    if (this.ioInFlight === 0) return Promise.resolve();
    return new Promise((resolve) => this.ioIdleWaiters.push(resolve));
  }

  /** Waits for every client's outstanding jobs and destroys the clients. */
  async destroy(): Promise<void> {
    await Promise.all([...this.live].map((c) => c.destroy()));
  }

  private trackIo(io: Promise<void>): void {
    this.ioInFlight++;
    const done = (): void => {
      if (--this.ioInFlight === 0) for (const resolve of this.ioIdleWaiters.splice(0)) resolve();
    };
    io.then(done, (e: unknown) => {
      done();
      queueMicrotask(() => {
        throw e;
      });
    });
  }
}

/**
 * Runs a manual (or paused) engine until no pass is pending and no I/O is in flight. A throttle sleep is
 * neither: it ends on the engine clock, so a caller with a fake clock advances it and calls again.
 */
export async function runUntilIdle(engine: KcopydEngine): Promise<number> {
  let steps = 0;
  for (;;) {
    if (engine.scheduler.step()) {
      steps++;
      continue;
    }
    if (engine.ioPending === 0) return steps;
    await engine.whenIoIdle();
  }
}
