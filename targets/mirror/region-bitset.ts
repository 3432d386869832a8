// RegionBitset: one bit per mirror region over a byte buffer, in the kernel's little-endian bit order
// (region r is byte r >> 3, bit r & 7), as dm-log.c's test_bit_le / __set_bit_le use it. The disk log's
// clean bits are a view into its on-disk buffer, so setting a bit here changes the bytes that get written.

export class RegionBitset {
  /** The bytes the bits live in (a view: for the disk log, part of the log's I/O buffer). */
  readonly bytes: Buffer;

  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }

  /** A zeroed bitset big enough for `bits` bits rounded up to 64, as the kernel sizes it (unsigned longs). */
  static forRegions(regionCount: number): RegionBitset {
    return new RegionBitset(Buffer.alloc(RegionBitset.byteSize(regionCount)));
  }

  /** Bytes for regionCount bits: whole 64-bit words (dm_round_up(region_count, BITS_PER_LONG) / 8). */
  static byteSize(regionCount: number): number {
    return Math.ceil(regionCount / 64) * 8;
  }

  test(bit: number): boolean {
    return (this.bytes[bit >> 3]! & (1 << (bit & 7))) !== 0;
  }

  set(bit: number): void {
    this.bytes[bit >> 3]! |= 1 << (bit & 7);
  }

  clear(bit: number): void {
    this.bytes[bit >> 3]! &= ~(1 << (bit & 7));
  }

  fill(value: boolean): void {
    this.bytes.fill(value ? 0xff : 0);
  }

  copyFrom(other: RegionBitset): void {
    other.bytes.copy(this.bytes, 0, 0, this.bytes.length);
  }

  /** Number of set bits in the whole buffer (memweight). */
  popcount(): number {
    let n = 0;
    for (const b of this.bytes) {
      let v = b;
      while (v) {
        v &= v - 1;
        n++;
      }
    }
    return n;
  }

  /** First clear bit at or after `from` and below `limit`; `limit` if there is none (find_next_zero_bit_le). */
  findNextZero(limit: number, from: number): number {
    for (let i = from; i < limit; i++) {
      if ((i & 7) === 0 && this.bytes[i >> 3] === 0xff && i + 8 <= limit) {
        i += 7;
        continue;
      }
      if (!this.test(i)) return i;
    }
    return limit;
  }
}
