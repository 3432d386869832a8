// submitBio: hands a bio, remapped to `sector`, to a BlockDevice (generic_submit_bio for the simulator's
// devices). Used by every target that passes I/O through (linear, flakey, delay, and the snapshot/mirror legs),
// and by the issuers that set bio flags of their own (bio-flags.ts).

import { SECTOR_SIZE } from '../base/size.js';
import type { BlockDevice } from '../block/block-device.js';
import type { Bio } from './bio.js';
import { MappedBlockDevice } from './mapped-device.js';

export async function submitBio(dev: BlockDevice, bio: Bio, sector: number): Promise<void> {
  // A mapped device below takes a write whole, so its targets see the flags the issuer set (a clone keeps them).
  if (bio.op === 'write' && dev instanceof MappedBlockDevice) return dev.submit({ ...bio, sector });
  switch (bio.op) {
    case 'read':
      return dev.read(sector, bioBuffer(bio));
    case 'write':
      if (bio.preflush) await dev.flush();
      await dev.write(sector, bioBuffer(bio));
      if (bio.fua) await dev.flush();
      return;
    case 'flush':
      return dev.flush();
    case 'discard':
      return dev.discard(sector, bio.count);
    case 'write_zeroes':
      return dev.write(sector, Buffer.alloc(bio.count * SECTOR_SIZE));
  }
}

/** The bio's data buffer; a read or write without one is a programming error in the caller. */
export function bioBuffer(bio: Bio): Buffer {
  if (!bio.buf || bio.buf.length !== bio.count * SECTOR_SIZE) {
    throw new RangeError(`${bio.op} bio of ${bio.count} sectors needs a ${bio.count * SECTOR_SIZE}-byte buffer`);
  }
  return bio.buf;
}
