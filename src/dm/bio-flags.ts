// Bio flags: the REQ_* bits of the kernel's bio->bi_opf (6.1 include/linux/blk_types.h) besides the op, and the
// ones each way dmsim issues I/O sets, as the kernel code it stands for sets them. Only flakey's
// corrupt_bio_byte <flags> mask looks at them; the table is in src/dm/README.md ("Bio flags"), checked on the
// oracle in fixtures/kernel/helpers/flakey-flags.out.

import type { Bio } from './bio.js';

/** REQ_OP_*: the low 8 bits. A flush is REQ_OP_WRITE | REQ_PREFLUSH to the kernel, with no data. */
const REQ_OP: Record<Bio['op'], number> = { read: 0, write: 1, flush: 1, discard: 3, write_zeroes: 9 };
const REQ_SYNC = 1 << 11;
const REQ_IDLE = 1 << 15;
const REQ_FUA = 1 << 17;
const REQ_PREFLUSH = 1 << 18;

/** block/fops.c dio_bio_write_op: an O_DIRECT write to a block device (dmsim's CLI, library and NBD writes). */
export const DIRECT_WRITE_FLAGS = REQ_SYNC | REQ_IDLE;
/** dm-io's sync_io adds REQ_SYNC: the snapshot store's chunk_io, dm-log's rw_header, dm core's empty flush. */
export const SYNC_IO_FLAGS = REQ_SYNC;

/** The whole bi_opf a bio carries: its op, its FUA and PREFLUSH, and the issuer's flags. */
export function bioOpf(bio: Bio): number {
  const preflush = bio.preflush || bio.op === 'flush';
  return (REQ_OP[bio.op] | (bio.flags ?? 0) | (bio.fua ? REQ_FUA : 0) | (preflush ? REQ_PREFLUSH : 0)) >>> 0;
}
