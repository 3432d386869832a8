// Region I/O: the part of dm-io (drivers/md/dm-io.c) kcopyd relies on. A read fills a job's pages from one
// region; a write sends the same pages to every destination in parallel and completes once all are done,
// with an error bitmask holding bit i when destination i failed.
//
// Granularity of failures: dm-io splits a region into bios and a failed READ bio is zero-filled. Here every
// page of the job (8 sectors, counted from the region's first sector) stands for one bio. The fast path
// issues one request per region; only when it fails is the region re-issued page by page, so the outcome
// (which pages were read or zero-filled, which pages reached a destination) is the one-bio-per-page outcome.
// A page that succeeds on the re-issue counts as done: a transient failure is retried, as the block layer
// may do.

import { type BlockDevice, SECTOR_SIZE, SECTORS_PER_PAGE } from '../block/block-device.js';

/** A failed piece of a region: the sectors and the error that ended it. */
export interface RegionFailure {
  sector: number;
  count: number;
  error: Error;
}

/** Reads `count` sectors at `sector` into buf[0..]; failed pages are zero-filled. Never rejects. */
export async function readRegion(bdev: BlockDevice, sector: number, count: number, buf: Buffer): Promise<RegionFailure[]> {
  const bytes = count * SECTOR_SIZE;
  try {
    await bdev.read(sector, buf.subarray(0, bytes));
    return [];
  } catch {
    return perPage(sector, count, async (s, n, off) => {
      const piece = buf.subarray(off, off + n * SECTOR_SIZE);
      try {
        await bdev.read(s, piece);
      } catch (e) {
        piece.fill(0); // dm-io zero-fills a failed read bio
        throw e;
      }
    });
  }
}

/** Writes buf[0 .. count sectors) to one region. Never rejects. */
export async function writeRegion(bdev: BlockDevice, sector: number, count: number, buf: Buffer): Promise<RegionFailure[]> {
  if (count === 0) return []; // dm-io skips an empty region: no I/O, no error bit
  const bytes = count * SECTOR_SIZE;
  try {
    await bdev.write(sector, buf.subarray(0, bytes));
    return [];
  } catch {
    return perPage(sector, count, (s, n, off) => bdev.write(s, buf.subarray(off, off + n * SECTOR_SIZE)));
  }
}

/** Runs io on every page-sized piece of [sector, sector + count) in parallel; returns the failures, merged. */
async function perPage(
  sector: number,
  count: number,
  io: (sector: number, count: number, byteOffset: number) => Promise<void>,
): Promise<RegionFailure[]> {
  const pieces: Promise<Error | null>[] = [];
  for (let done = 0; done < count; done += SECTORS_PER_PAGE) {
    const n = Math.min(SECTORS_PER_PAGE, count - done);
    pieces.push(
      (async () => {
        try {
          await io(sector + done, n, done * SECTOR_SIZE);
          return null;
        } catch (e) {
          return e instanceof Error ? e : new Error(String(e));
        }
      })(),
    );
  }
  const results = await Promise.all(pieces);
  const failures: RegionFailure[] = [];
  results.forEach((error, i) => {
    if (!error) return;
    const s = sector + i * SECTORS_PER_PAGE;
    const n = Math.min(SECTORS_PER_PAGE, count - i * SECTORS_PER_PAGE);
    const last = failures[failures.length - 1];
    if (last && last.sector + last.count === s) last.count += n; // one event per failed stretch
    else failures.push({ sector: s, count: n, error });
  });
  return failures;
}
