// Region I/O: the part of dm-io (drivers/md/dm-io.c) kcopyd relies on. A (sub-)job reads its source into its
// pages with one request, and writes the same pages to every destination in parallel, one request each,
// completing once all are done with bit i set when destination i failed. Sub-jobs are at most 2048 sectors
// (256 pages = BIO_MAX_VECS), so dm-io builds exactly one bio per region, as here.
//
// A failed READ bio is zero-filled by dm-io's endio, but only over the bio's final iterator: when the device
// below split the bio (dm core at target boundaries), that is the piece after the last failing one. The
// oracle shows it (fixtures/kcopyd/read-error-zero-fill.*): a sub-job over linear|error|linear reads the data
// before the hole, zeros from the hole to the end of the sub-job; with two holes the data between them
// survives. dmsim reproduces that outcome sector-exactly: after a failed read it re-reads page by page and
// then sector by sector to find the unreadable sectors, and zeroes those and everything after the last one.
// (The kernel leaves the hole's own pages untouched; they held zeros in the oracle run, dmsim zeroes them.)
// A write is not retried: what reached a destination is whatever its device wrote of the failed request.

import { SECTOR_SIZE, SECTORS_PER_PAGE } from '../base/size.js';
import type { BlockDevice } from '../block/block-device.js';

/** A stretch of unreadable or unwritable sectors and the first error seen in it. */
export interface RegionFailure {
  sector: number;
  count: number;
  error: Error;
}

/**
 * Reads `count` sectors at `sector` into buf[0..]; on failure the buffer holds the kernel's outcome (see the
 * header) and the unreadable stretches are returned. Never rejects.
 */
export async function readRegion(
  bdev: BlockDevice,
  sector: number,
  count: number,
  buf: Buffer,
): Promise<RegionFailure[]> {
  try {
    await bdev.read(sector, buf.subarray(0, count * SECTOR_SIZE));
    return [];
  } catch (e) {
    const failures = await findUnreadable(bdev, sector, count, buf);
    // A transient failure that no re-read reproduces still failed the bio: treat the whole region as failed.
    if (failures.length === 0) failures.push({ sector, count, error: asError(e) });
    for (const f of failures)
      buf.fill(0, (f.sector - sector) * SECTOR_SIZE, (f.sector - sector + f.count) * SECTOR_SIZE);
    const last = failures[failures.length - 1]!;
    buf.fill(0, (last.sector - sector + last.count) * SECTOR_SIZE, count * SECTOR_SIZE);
    return failures;
  }
}

/** Writes buf[0 .. count sectors) to one region; the failure (the whole region) or nothing. Never rejects. */
export async function writeRegion(
  bdev: BlockDevice,
  sector: number,
  count: number,
  buf: Buffer,
): Promise<RegionFailure[]> {
  if (count === 0) return []; // dm-io skips an empty region: no I/O, no error bit
  try {
    await bdev.write(sector, buf.subarray(0, count * SECTOR_SIZE));
    return [];
  } catch (e) {
    return [{ sector, count, error: asError(e) }];
  }
}

/** Re-reads page by page, then the failed pages sector by sector; returns the unreadable stretches in order. */
async function findUnreadable(bdev: BlockDevice, sector: number, count: number, buf: Buffer): Promise<RegionFailure[]> {
  const pages = await tryPieces(bdev, sector, count, SECTORS_PER_PAGE, buf);
  const sectors = await Promise.all(
    pages.map((p) => tryPieces(bdev, p.sector, p.count, 1, buf.subarray((p.sector - sector) * SECTOR_SIZE))),
  );
  const failures: RegionFailure[] = [];
  for (const f of sectors.flat()) {
    const last = failures[failures.length - 1];
    if (last && last.sector + last.count === f.sector) last.count += f.count;
    else failures.push({ ...f });
  }
  return failures;
}

/** Reads [sector, sector + count) in pieces of `size` sectors in parallel into buf; returns the failed pieces. */
async function tryPieces(
  bdev: BlockDevice,
  sector: number,
  count: number,
  size: number,
  buf: Buffer,
): Promise<RegionFailure[]> {
  const pieces: Promise<RegionFailure | null>[] = [];
  for (let off = 0; off < count; off += size) {
    const n = Math.min(size, count - off);
    pieces.push(
      (async () => {
        try {
          await bdev.read(sector + off, buf.subarray(off * SECTOR_SIZE, (off + n) * SECTOR_SIZE));
          return null;
        } catch (e) {
          return { sector: sector + off, count: n, error: asError(e) };
        }
      })(),
    );
  }
  return (await Promise.all(pieces)).filter((f): f is RegionFailure => f !== null);
}

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}
