// Test devices for kcopyd: a MemoryDevice with bad sectors, and a device whose requests wait to be released.

import { IoError } from '../../src/base/errors.js';
import { SECTOR_SIZE } from '../../src/base/size.js';
import type { BlockDevice } from '../../src/block/block-device.js';
import { MemoryDevice } from '../../src/block/memory-device.js';

/**
 * A sparse in-memory disk with bad sectors. A request touching a bad sector fails as a whole and moves no
 * data (the buffer of a failed read is left as it was; a failed write writes nothing).
 */
export class FaultyDevice implements BlockDevice {
  readonly mem: MemoryDevice;
  readonly badReads = new Set<number>();
  readonly badWrites = new Set<number>();
  /** Every request that reached the device: op, first sector, sectors. */
  readonly log: { op: 'read' | 'write'; sector: number; count: number; ok: boolean }[] = [];

  constructor(
    readonly name: string,
    readonly sizeSectors: number,
    readonly readOnly = false,
  ) {
    this.mem = new MemoryDevice(name, sizeSectors, { readOnly });
  }

  async read(sector: number, buf: Buffer): Promise<void> {
    const count = buf.length / SECTOR_SIZE;
    const bad = this.firstBad(this.badReads, sector, count);
    this.log.push({ op: 'read', sector, count, ok: bad === null });
    if (bad !== null) throw new IoError(`${this.name}: read error at sector ${bad}`);
    await this.mem.read(sector, buf);
  }

  async write(sector: number, buf: Buffer): Promise<void> {
    const count = buf.length / SECTOR_SIZE;
    const bad = this.firstBad(this.badWrites, sector, count);
    this.log.push({ op: 'write', sector, count, ok: bad === null });
    if (bad !== null) throw new IoError(`${this.name}: write error at sector ${bad}`);
    await this.mem.write(sector, buf);
  }

  flush(): Promise<void> {
    return this.mem.flush();
  }

  discard(sector: number, count: number): Promise<void> {
    return this.mem.discard(sector, count);
  }

  close(): Promise<void> {
    return this.mem.close();
  }

  /** The whole device as bytes. */
  async bytes(): Promise<Buffer> {
    const buf = Buffer.alloc(this.sizeSectors * SECTOR_SIZE);
    await this.mem.read(0, buf);
    return buf;
  }

  private firstBad(set: Set<number>, sector: number, count: number): number | null {
    if (set.size === 0) return null;
    for (const s of set) if (s >= sector && s < sector + count) return s;
    return null;
  }
}

/** A MemoryDevice whose reads and writes wait until the test releases them, so completion order is chosen. */
export class GatedDevice implements BlockDevice {
  readonly mem: MemoryDevice;
  readonly waiting: { op: 'read' | 'write'; sector: number; count: number; release: (fail?: boolean) => void }[] = [];

  constructor(
    readonly name: string,
    readonly sizeSectors: number,
    readonly readOnly = false,
  ) {
    this.mem = new MemoryDevice(name, sizeSectors);
  }

  read(sector: number, buf: Buffer): Promise<void> {
    return this.gate('read', sector, buf, () => this.mem.read(sector, buf));
  }

  write(sector: number, buf: Buffer): Promise<void> {
    return this.gate('write', sector, buf, () => this.mem.write(sector, buf));
  }

  flush(): Promise<void> {
    return this.mem.flush();
  }

  discard(sector: number, count: number): Promise<void> {
    return this.mem.discard(sector, count);
  }

  close(): Promise<void> {
    return this.mem.close();
  }

  /** Releases the oldest waiting request matching `where` (default: the oldest). */
  release(where: (r: { op: 'read' | 'write'; sector: number }) => boolean = () => true, fail = false): void {
    const i = this.waiting.findIndex(where);
    if (i < 0) throw new Error(`${this.name}: no waiting request matches`);
    this.waiting.splice(i, 1)[0]!.release(fail);
  }

  /** Fails every waiting request matching `where`, and the re-reads they cause, until none is left. */
  async failAll(where: (r: { op: 'read' | 'write'; sector: number; count: number }) => boolean): Promise<number> {
    let failed = 0;
    for (let batch = this.waiting.filter(where); batch.length > 0; batch = this.waiting.filter(where)) {
      for (const r of batch) {
        this.waiting.splice(this.waiting.indexOf(r), 1);
        r.release(true);
        failed++;
      }
      await settle();
    }
    return failed;
  }

  private gate(op: 'read' | 'write', sector: number, buf: Buffer, io: () => Promise<void>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({
        op,
        sector,
        count: buf.length / SECTOR_SIZE,
        release: (fail = false) => {
          if (fail) reject(new IoError(`${this.name}: ${op} error at sector ${sector}`));
          else io().then(resolve, reject);
        },
      });
    });
  }
}

/** Lets pending promise continuations (device completions) run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise<void>((r) => setImmediate(r));
}
