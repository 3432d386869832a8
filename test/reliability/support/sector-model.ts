// The reference model for crash tests: per sector, the value a completed flush made durable ("stable") and
// the values written since (acknowledged or still in flight) that a crash may or may not have kept. Each
// write's data names its sector and a run-unique tag, so a sector read back says which write it came from.

import { SECTOR_SIZE } from '../../../src/base/size.js';

/** 512 bytes that say "sector S, write T" (a torn write is caught: the whole sector must match one tag). */
export function sectorData(sector: number, tag: number): Buffer {
  const unit = `s${sector}t${tag};`;
  return Buffer.from(unit.repeat(Math.ceil(SECTOR_SIZE / unit.length)).slice(0, SECTOR_SIZE));
}

export function writeData(sector: number, count: number, tag: number): Buffer {
  return Buffer.concat(Array.from({ length: count }, (_, i) => sectorData(sector + i, tag)));
}

/** The tag a sector holds, or null when it is not exactly one write's data for that sector. */
export function tagOf(sector: number, data: Buffer): number | null {
  const m = /^s(\d+)t(\d+);/.exec(data.subarray(0, 40).toString('latin1'));
  if (!m || Number(m[1]) !== sector) return null;
  const tag = Number(m[2]);
  return data.equals(sectorData(sector, tag)) ? tag : null;
}

export class SectorModel {
  private readonly stable: number[];
  private readonly maybe: Set<number>[];

  constructor(
    readonly name: string,
    readonly sectors: number,
    initial: (sector: number) => number,
  ) {
    this.stable = Array.from({ length: sectors }, (_, s) => initial(s));
    this.maybe = Array.from({ length: sectors }, () => new Set<number>());
  }

  /** A copy whose every sector is durable as this one's is now (a snapshot taken after the values were read). */
  copy(name: string): SectorModel {
    this.checkSettled();
    return new SectorModel(name, this.sectors, (s) => this.stable[s]!);
  }

  /** A write is about to be sent: from now on a crash may leave its data. */
  issued(sector: number, count: number, tag: number): void {
    for (let s = sector; s < sector + count; s++) this.maybe[s]!.add(tag);
  }

  /** A flush completed after these writes were acknowledged (and no other write to them was in flight). */
  durable(writes: ReadonlyMap<number, number>): void {
    for (const [s, tag] of writes) {
      this.stable[s] = tag;
      this.maybe[s]!.clear();
    }
  }

  /** What a sector may hold after a crash. */
  allowed(sector: number): number[] {
    return [this.stable[sector]!, ...this.maybe[sector]!];
  }

  /**
   * Checks what the device reads after a restart against the model and makes it the new durable state.
   * Returns the problems found (empty: all good).
   */
  settle(data: Buffer): string[] {
    const problems: string[] = [];
    for (let s = 0; s < this.sectors; s++) {
      const got = tagOf(s, data.subarray(s * SECTOR_SIZE, (s + 1) * SECTOR_SIZE));
      const allowed = this.allowed(s);
      if (got === null || !allowed.includes(got)) {
        if (problems.length < 5)
          problems.push(
            `${this.name} sector ${s}: read ${got === null ? 'foreign data' : `write ${got}`}, expected one of ${allowed.join(', ')}`,
          );
        continue;
      }
      this.stable[s] = got;
      this.maybe[s]!.clear();
    }
    return problems;
  }

  /** The image a device holding every stable value would have. */
  image(): Buffer {
    this.checkSettled();
    return Buffer.concat(this.stable.map((tag, s) => sectorData(s, tag)));
  }

  private checkSettled(): void {
    if (this.maybe.some((m) => m.size > 0)) throw new Error(`${this.name}: model has unsettled writes`);
  }
}
