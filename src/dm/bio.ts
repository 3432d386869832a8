// Bio: one I/O request as it travels down the stack, like the kernel's struct bio (sector-addressed, 512-byte units).

export type BioOp = 'read' | 'write' | 'flush' | 'discard' | 'write_zeroes';

export interface Bio {
  op: BioOp;
  /** First sector. In Target.map() it is relative to the target's start (the kernel's dm_target_offset). */
  sector: number;
  /** Length in sectors (0 for a bare flush). */
  count: number;
  /** Data: for a read the target fills it, for a write it holds count * 512 bytes. Absent for flush/discard/write_zeroes. */
  buf?: Buffer;
  /** REQ_FUA: the write is durable when it completes. */
  fua?: boolean;
  /** REQ_PREFLUSH: flush the device before this write. */
  preflush?: boolean;
  /** The other REQ_* bits of bi_opf the issuer set (REQ_SYNC, REQ_IDLE; see bio-flags.ts). A clone keeps them. */
  flags?: number;
}
