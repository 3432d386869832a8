// KcopydThrottle: struct dm_kcopyd_throttle and its accounting (drivers/md/dm-kcopyd.c io_job_start /
// io_job_finish). A percentage of time the client's I/O may be busy; 100 or more means no limit. Several
// clients may share one instance to be throttled as a group (as every mirror shares raid1_resync_throttle).
//
// Time is the engine clock in milliseconds standing in for jiffies; the decay interval 2^SHIFT is 1024 ms
// (SHIFT_HZ for HZ=1000). The kernel sleeps 100 ms inside the worker when over the limit, at most 10 times
// per I/O; the worker asks `mustWait` and does the sleeping itself.

import { InvalidArgumentError } from '../base/errors.js';

export const THROTTLE_SLEEP_MS = 100;
const THROTTLE_MAX_SLEEPS = 10;
const ACCOUNT_INTERVAL_SHIFT = 10;

export class KcopydThrottle {
  private percent: number;
  private numIoJobs = 0;
  private ioPeriod = 0;
  private totalPeriod = 0;
  private lastTime: number | null = null;

  constructor(percent = 100) {
    this.percent = checkPercent(percent);
  }

  get throttle(): number {
    return this.percent;
  }

  /** The module parameter is writable at any time (raid1_resync_throttle is 0644). */
  set throttle(percent: number) {
    this.percent = checkPercent(percent);
  }

  /** Busy and total time accumulated in the current decay interval (ms). */
  get periods(): { io: number; total: number; inFlight: number } {
    return { io: this.ioPeriod, total: this.totalPeriod, inFlight: this.numIoJobs };
  }

  /**
   * The first half of io_job_start(): updates the accounting and says whether the I/O must wait
   * (the caller sleeps THROTTLE_SLEEP_MS and asks again, at most THROTTLE_MAX_SLEEPS times).
   */
  mustWait(now: number, sleptSoFar: number): boolean {
    if (this.percent >= 100) return false;
    const difference = this.elapsed(now);
    if (this.numIoJobs > 0) this.ioPeriod += difference;
    this.totalPeriod += difference;
    if (this.ioPeriod > this.totalPeriod) this.ioPeriod = this.totalPeriod;
    if (this.totalPeriod >= 1 << ACCOUNT_INTERVAL_SHIFT) {
      const shift = fls(this.totalPeriod >>> ACCOUNT_INTERVAL_SHIFT);
      this.totalPeriod >>>= shift;
      this.ioPeriod >>>= shift;
    }
    const skew = this.ioPeriod - Math.floor((this.percent * this.totalPeriod) / 100);
    return skew > 0 && sleptSoFar < THROTTLE_MAX_SLEEPS;
  }

  /** The end of io_job_start(): one more throttled I/O in flight. */
  started(): void {
    this.numIoJobs++;
  }

  /** io_job_finish(): when the last I/O completes, the time since the last event was all busy. */
  finished(now: number): void {
    this.numIoJobs--;
    if (this.percent >= 100) return;
    if (this.numIoJobs === 0) {
      const difference = this.elapsed(now);
      this.ioPeriod += difference;
      this.totalPeriod += difference;
      if (this.ioPeriod > this.totalPeriod) this.ioPeriod = this.totalPeriod;
    }
  }

  private elapsed(now: number): number {
    const difference = this.lastTime === null ? 0 : Math.max(0, Math.floor(now - this.lastTime));
    this.lastTime = now;
    return difference;
  }
}

/** Find last set bit, 1-based (the kernel's fls()). */
function fls(x: number): number {
  return x === 0 ? 0 : 32 - Math.clz32(x);
}

function checkPercent(percent: number): number {
  if (!Number.isInteger(percent) || percent < 0) {
    throw new InvalidArgumentError(
      `kcopyd throttle must be a whole percentage >= 0 (100 or more: unlimited), got ${percent}`,
    );
  }
  return percent;
}
