// ExceptionTable: a snapshot's completed exceptions, origin chunk -> COW chunk (the kernel's s->complete, a
// dm_exception_table in drivers/md/dm-snap.c). A COW can hold millions of exceptions, all read at activation, so
// the table is two typed arrays with open addressing (linear probing) instead of a Map: 8 bytes a slot, at most
// 3/4 full, where a Map of numbers costs several times that. A slot holds origin chunk + 1, so 0 is a free slot
// and a new table is zero pages the system has not handed out yet. Exceptions with a chunk number that does not
// fit in 32 bits (a COW or origin past 16 TiB at 4 KiB chunks) go to a Map beside it.

/** Origin chunks from this one on (key + 1 would not fit) and COW chunks above it go to the wide map. */
const WIDE = 0xffffffff;
const MIN_CAPACITY = 64;
/** The most slots reserve() sets aside (16 MiB); a table that needs more grows as it fills. */
const MAX_RESERVED = 2 ** 21;

/** Fibonacci hashing (the top bits of a multiplication): spreads runs and strides of chunks over the slots. */
function home(key: number, shift: number): number {
  return Math.imul(key, 0x9e3779b1) >>> shift;
}

export class ExceptionTable {
  /** Origin chunk + 1, or 0 for a free slot. */
  private keys = new Uint32Array(MIN_CAPACITY);
  private values = new Uint32Array(MIN_CAPACITY);
  /** 32 - log2(capacity): home() keeps the top log2(capacity) bits. */
  private shift = 32 - Math.log2(MIN_CAPACITY);
  private used = 0;
  private readonly wide = new Map<number, number>();

  get size(): number {
    return this.used + this.wide.size;
  }

  get(oldChunk: number): number | undefined {
    if (oldChunk < WIDE) {
      const at = this.find(oldChunk + 1);
      if (this.keys[at] !== 0) return this.values[at];
    }
    return this.wide.size > 0 ? this.wide.get(oldChunk) : undefined;
  }

  has(oldChunk: number): boolean {
    return this.get(oldChunk) !== undefined;
  }

  set(oldChunk: number, newChunk: number): void {
    if (oldChunk >= WIDE || newChunk > WIDE) {
      this.delete(oldChunk);
      this.wide.set(oldChunk, newChunk);
      return;
    }
    if (this.wide.size > 0) this.wide.delete(oldChunk);
    if ((this.used + 1) * 4 > this.keys.length * 3) this.resize(this.keys.length * 2);
    const at = this.find(oldChunk + 1);
    if (this.keys[at] === 0) {
      this.keys[at] = oldChunk + 1;
      this.used++;
    }
    this.values[at] = newChunk;
  }

  delete(oldChunk: number): boolean {
    if (oldChunk >= WIDE) return this.wide.delete(oldChunk);
    let hole = this.find(oldChunk + 1);
    if (this.keys[hole] === 0) return this.wide.delete(oldChunk);
    this.keys[hole] = 0;
    this.used--;
    // Backward shift: an entry after the hole moves into it unless the hole lies before its home slot.
    const mask = this.keys.length - 1;
    for (let i = (hole + 1) & mask; this.keys[i] !== 0; i = (i + 1) & mask) {
      const from = home(this.keys[i]!, this.shift);
      if (((i - from) & mask) >= ((i - hole) & mask)) {
        this.keys[hole] = this.keys[i]!;
        this.values[hole] = this.values[i]!;
        this.keys[i] = 0;
        hole = i;
      }
    }
    return true;
  }

  clear(): void {
    this.keys = new Uint32Array(MIN_CAPACITY);
    this.values = new Uint32Array(MIN_CAPACITY);
    this.shift = 32 - Math.log2(MIN_CAPACITY);
    this.used = 0;
    this.wide.clear();
  }

  /**
   * Makes room for `exceptions` entries at once (capped at MAX_RESERVED slots), as the kernel's init_hash_tables
   * sizes its table from the COW's size in chunks: loading a full COW then never grows the table, which would
   * leave each old pair of arrays behind until the collector frees it (a peak of twice the table). The pages
   * of free slots stay untouched, so a large reserve costs memory only as the table fills.
   */
  reserve(exceptions: number): void {
    let capacity = this.keys.length;
    while (capacity < MAX_RESERVED && exceptions * 4 > capacity * 3) capacity *= 2;
    if (capacity > this.keys.length) this.resize(capacity);
  }

  /** Every exception as [origin chunk, COW chunk], in no particular order. */
  *[Symbol.iterator](): IterableIterator<[number, number]> {
    for (let i = 0; i < this.keys.length; i++) if (this.keys[i] !== 0) yield [this.keys[i]! - 1, this.values[i]!];
    yield* this.wide;
  }

  /** The slot holding key (origin chunk + 1), or the free slot where it would go. */
  private find(key: number): number {
    const mask = this.keys.length - 1;
    let i = home(key, this.shift);
    while (this.keys[i] !== 0 && this.keys[i] !== key) i = (i + 1) & mask;
    return i;
  }

  private resize(capacity: number): void {
    const keys = this.keys;
    const values = this.values;
    this.keys = new Uint32Array(capacity);
    this.values = new Uint32Array(capacity);
    this.shift = 32 - Math.log2(capacity);
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] === 0) continue;
      const at = this.find(keys[i]!);
      this.keys[at] = keys[i]!;
      this.values[at] = values[i]!;
    }
  }
}
