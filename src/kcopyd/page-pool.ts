// Page pool: kcopyd's pages (drivers/md/dm-kcopyd.c kcopyd_get_pages / kcopyd_put_pages / client_reserve_pages).
//
// Each client owns a reserve; on top of it an engine-wide shared pool plays the kernel's page allocator.
// For each page a job needs, the shared pool is tried first and the client's reserve second; if both run
// dry the job gets nothing (what it gathered is given back) and must wait. Pages come back to the reserve
// first, until it is full, and the rest to the shared pool. By default the shared pool is unlimited (the
// allocator never fails), so the reserve only matters once a limit is set.
//
// The pages are real memory: a job's pages are one Buffer of n * 4 KiB. Freed buffers are recycled (bounded)
// so a long copy does not churn the allocator.

import { PAGE_SIZE } from '../base/size.js';

/** The pages one job holds: how many came from where, and the memory itself. */
export interface PageSet {
  readonly count: number;
  readonly buffer: Buffer;
}

/** A client's view of the pool, as events report it. */
export interface PoolCounts {
  reserveTotal: number;
  reserveFree: number;
  /** Pages this client holds beyond its reserve (taken from the shared pool). */
  sharedUsed: number;
  /** Pages taken from the shared pool by all clients of the engine. */
  engineSharedUsed: number;
  /** null: unlimited (the system allocator never fails). */
  sharedLimit: number | null;
}

/** Upper bound on recycled buffers kept around (bytes). */
const RECYCLE_LIMIT_BYTES = 32 * 1024 * 1024;

export class PagePool {
  readonly sharedLimit: number;
  private sharedUsed = 0;
  private readonly recycled = new Map<number, Buffer[]>();
  private recycledBytes = 0;

  /** sharedLimit: pages all clients may take beyond their reserves (Infinity: unlimited). */
  constructor(sharedLimit: number) {
    this.sharedLimit = sharedLimit;
  }

  get engineSharedUsed(): number {
    return this.sharedUsed;
  }

  get sharedFree(): number {
    return this.sharedLimit - this.sharedUsed;
  }

  /** Accounts pages taken from the shared pool (the caller has checked sharedFree). */
  takeShared(n: number): void {
    this.sharedUsed += n;
  }

  releaseShared(n: number): void {
    this.sharedUsed -= n;
  }

  /** Memory for `pages` pages: a recycled buffer of that size, or a new one. Contents are unspecified. */
  allocBuffer(pages: number): Buffer {
    const bytes = pages * PAGE_SIZE;
    const free = this.recycled.get(bytes);
    const buf = free?.pop();
    if (buf) {
      this.recycledBytes -= bytes;
      return buf;
    }
    return Buffer.allocUnsafeSlow(bytes);
  }

  freeBuffer(buf: Buffer): void {
    if (this.recycledBytes + buf.length > RECYCLE_LIMIT_BYTES) return; // let the GC have it
    let list = this.recycled.get(buf.length);
    if (!list) {
      list = [];
      this.recycled.set(buf.length, list);
    }
    list.push(buf);
    this.recycledBytes += buf.length;
  }
}

/** One client's reserve (nr_reserved_pages / nr_free_pages) on top of the engine's shared pool. */
export class ClientPages {
  readonly reserveTotal: number;
  private reserveFree: number;
  /** Pages held by this client's jobs. */
  private held = 0;

  constructor(
    private readonly pool: PagePool,
    reservePages: number,
  ) {
    this.reserveTotal = reservePages;
    this.reserveFree = reservePages;
  }

  /** The most pages one job of this client can ever hold at once. */
  get maxObtainable(): number {
    return this.reserveTotal + this.pool.sharedLimit;
  }

  /**
   * kcopyd_get_pages: all n pages or none. Page by page the shared pool is tried first, then the reserve;
   * the outcome of that loop is computed in one step (same counts, no partial state left behind).
   */
  take(n: number): PageSet | null {
    const fromShared = Math.min(n, Math.max(0, this.pool.sharedFree));
    const fromReserve = n - fromShared;
    if (fromReserve > this.reserveFree) return null;
    this.pool.takeShared(fromShared);
    this.reserveFree -= fromReserve;
    this.held += n;
    return { count: n, buffer: this.pool.allocBuffer(n) };
  }

  /** kcopyd_put_pages: refill the reserve first, the rest goes back to the shared pool. */
  put(pages: PageSet): void {
    const toReserve = Math.min(pages.count, this.reserveTotal - this.reserveFree);
    this.reserveFree += toReserve;
    this.pool.releaseShared(pages.count - toReserve);
    this.held -= pages.count;
    this.pool.freeBuffer(pages.buffer);
  }

  get allFree(): boolean {
    return this.held === 0 && this.reserveFree === this.reserveTotal;
  }

  counts(): PoolCounts {
    return {
      reserveTotal: this.reserveTotal,
      reserveFree: this.reserveFree,
      sharedUsed: this.held - (this.reserveTotal - this.reserveFree),
      engineSharedUsed: this.pool.engineSharedUsed,
      sharedLimit: Number.isFinite(this.pool.sharedLimit) ? this.pool.sharedLimit : null,
    };
  }
}
