// MirrorLeg: one leg of a mirror set (dm-raid1.c struct mirror): its device and offset, and the error state
// the status line shows (error_count plus the kinds of error seen). The health character follows
// device_status_char: F (flush) > D (write) > S (sync) > R (read), U if counted but unclassified.

import type { Bio } from '../../src/dm/bio.js';
import type { DmDevice } from '../../src/dm/target.js';
import type { LegHealth } from './status.js';

export type LegErrorType = 'write' | 'flush' | 'sync' | 'read';

export class MirrorLeg {
  readonly index: number;
  readonly dev: DmDevice;
  /** Sector of the leg device where the mirror's sector 0 lives. */
  readonly offset: number;
  private errorCount = 0;
  private readonly errorTypes = new Set<LegErrorType>();

  constructor(index: number, dev: DmDevice, offset: number) {
    this.index = index;
    this.dev = dev;
    this.offset = offset;
  }

  get name(): string {
    return this.dev.name;
  }

  /** Any error at all: choose_mirror and get_valid_mirror skip the leg. */
  get failed(): boolean {
    return this.errorCount > 0;
  }

  /** Counts an error; returns true if this kind of error is new for the leg (test_and_set_bit was 0). */
  recordError(type: LegErrorType): boolean {
    this.errorCount++;
    if (this.errorTypes.has(type)) return false;
    this.errorTypes.add(type);
    return true;
  }

  /** reset_ms_flags: the leg is healthy again (when the mirror first reaches 100%). */
  reset(): void {
    this.errorCount = 0;
    this.errorTypes.clear();
  }

  health(): LegHealth {
    if (this.errorCount === 0) return 'A';
    if (this.errorTypes.has('flush')) return 'F';
    if (this.errorTypes.has('write')) return 'D';
    if (this.errorTypes.has('sync')) return 'S';
    if (this.errorTypes.has('read')) return 'R';
    return 'U';
  }

  read(sector: number, buf: Buffer): Promise<void> {
    return this.dev.bdev.read(this.offset + sector, buf);
  }

  /** Issues a write-side bio (write, flush, discard, write_zeroes) to this leg, as dm-io would. */
  async submit(bio: Bio): Promise<void> {
    const bdev = this.dev.bdev;
    if (bio.preflush || bio.op === 'flush') await bdev.flush();
    switch (bio.op) {
      case 'flush':
        return;
      case 'discard':
        return bdev.discard(this.offset + bio.sector, bio.count);
      case 'write_zeroes':
        // The mirror does not pass write-zeroes down; the block layer writes zero pages instead.
        await bdev.write(this.offset + bio.sector, Buffer.alloc(bio.count * 512));
        break;
      case 'write':
        await bdev.write(this.offset + bio.sector, bio.buf ?? Buffer.alloc(0));
        break;
      case 'read':
        throw new Error('MirrorLeg.submit: reads go through read()');
    }
    if (bio.fua) await bdev.flush();
  }
}
