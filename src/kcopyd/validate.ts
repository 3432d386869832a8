// Argument checks for dm_kcopyd_copy / dm_kcopyd_zero. The kernel checks none of these (reference/kcopyd.md
// section 7: stale dests[0], memory corruption past 8 destinations, buffer overruns on unequal counts, bios
// failing past the end, corrupted overlapping split copies); dmsim refuses them before any I/O, on purpose.

import { InvalidArgumentError, ReadOnlyError } from '../base/errors.js';
import type { BlockDevice } from '../block/block-device.js';
import { DM_KCOPYD_MAX_REGIONS, type IoRegion, type KcopydFlags } from './types.js';

const FLAG_NAMES: readonly (keyof KcopydFlags)[] = ['ignoreError', 'writeSeq'];

/** Describes a region for messages: "disk.img:2048+16". */
export function describeRegion(r: IoRegion): string {
  return `${r.bdev.name}:${r.sector}+${r.count}`;
}

/**
 * The flags with both fields set, or InvalidArgumentError. A number is refused: it would be a kernel bit
 * number or mask, and DM_KCOPYD_WRITE_SEQ's bit number (2) is DM_KCOPYD_IGNORE_ERROR's mask.
 */
export function checkFlags(flags: KcopydFlags): Required<KcopydFlags> {
  if (typeof flags !== 'object' || flags === null || Array.isArray(flags)) {
    throw new InvalidArgumentError(
      `kcopyd: flags must be an object such as { ignoreError: true } or {}, not ${JSON.stringify(flags) ?? String(flags)}: ` +
        'kernel flag numbers are refused because the bit number of DM_KCOPYD_WRITE_SEQ (2) is the mask of DM_KCOPYD_IGNORE_ERROR',
    );
  }
  for (const [name, value] of Object.entries(flags)) {
    if (!(FLAG_NAMES as readonly string[]).includes(name)) {
      throw new InvalidArgumentError(`kcopyd: unknown flag "${name}": only ignoreError and writeSeq exist`);
    }
    if (value !== undefined && typeof value !== 'boolean') {
      throw new InvalidArgumentError(`kcopyd: flag ${name} must be true or false, got ${JSON.stringify(value)}`);
    }
  }
  return { ignoreError: flags.ignoreError === true, writeSeq: flags.writeSeq === true };
}

/**
 * Throws InvalidArgumentError (or ReadOnlyError for a read-only destination) naming the bad argument.
 * from = null for a zero job. subJobSectors decides whether the job will be split.
 */
export function checkJob(from: IoRegion | null, dests: readonly IoRegion[], subJobSectors: number): void {
  if (!Array.isArray(dests) || dests.length === 0) {
    throw new InvalidArgumentError('kcopyd: a job needs at least one destination region');
  }
  if (dests.length > DM_KCOPYD_MAX_REGIONS) {
    throw new InvalidArgumentError(
      `kcopyd: ${dests.length} destinations given, at most ${DM_KCOPYD_MAX_REGIONS} (DM_KCOPYD_MAX_REGIONS) are allowed`,
    );
  }
  if (from) checkRegion(from, 'source');
  for (const [i, d] of dests.entries()) checkRegion(d, `destination ${i}`);

  const count = from ? from.count : dests[0]!.count;
  dests.forEach((d, i) => {
    if (d.count !== count) {
      throw new InvalidArgumentError(
        `kcopyd: destination ${i} (${describeRegion(d)}) has ${d.count} sectors but ${from ? 'the source' : 'destination 0'} has ${count}: all regions of a job must have the same count`,
      );
    }
    if (d.bdev.readOnly && count > 0) {
      throw new ReadOnlyError(`kcopyd: destination ${i} (${describeRegion(d)}) is on a read-only device`);
    }
  });

  for (let i = 0; i < dests.length; i++) {
    for (let j = i + 1; j < dests.length; j++) {
      if (overlaps(dests[i]!, dests[j]!)) {
        throw new InvalidArgumentError(
          `kcopyd: destinations ${i} (${describeRegion(dests[i]!)}) and ${j} (${describeRegion(dests[j]!)}) overlap: their final contents would be undefined`,
        );
      }
    }
  }
  // An unsplit job reads everything before it writes, so overlap is harmless; a split one races its chunks.
  if (from && count > subJobSectors) {
    dests.forEach((d, i) => {
      if (overlaps(from, d)) {
        throw new InvalidArgumentError(
          `kcopyd: source ${describeRegion(from)} and destination ${i} (${describeRegion(d)}) overlap and the job is split into ${subJobSectors}-sector chunks that run in any order: copy in pieces of at most ${subJobSectors} sectors, or to a non-overlapping place`,
        );
      }
    });
  }
}

function checkRegion(r: IoRegion, what: string): void {
  if (!r || typeof r !== 'object' || !isBlockDevice(r.bdev)) {
    throw new InvalidArgumentError(`kcopyd: the ${what} region has no block device`);
  }
  if (!Number.isSafeInteger(r.sector) || r.sector < 0) {
    throw new InvalidArgumentError(
      `kcopyd: the ${what} region on ${r.bdev.name} has an invalid start sector ${String(r.sector)}`,
    );
  }
  if (!Number.isSafeInteger(r.count) || r.count < 0) {
    throw new InvalidArgumentError(
      `kcopyd: the ${what} region on ${r.bdev.name} has an invalid sector count ${String(r.count)}`,
    );
  }
  if (r.sector + r.count > r.bdev.sizeSectors) {
    throw new InvalidArgumentError(
      `kcopyd: the ${what} region ${describeRegion(r)} ends at sector ${r.sector + r.count}, beyond the end of ${r.bdev.name} (${r.bdev.sizeSectors} sectors)`,
    );
  }
}

function overlaps(a: IoRegion, b: IoRegion): boolean {
  return (
    a.bdev === b.bdev && a.count > 0 && b.count > 0 && a.sector < b.sector + b.count && b.sector < a.sector + a.count
  );
}

function isBlockDevice(x: unknown): x is BlockDevice {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as BlockDevice).read === 'function' &&
    typeof (x as BlockDevice).write === 'function'
  );
}
