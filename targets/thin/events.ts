// The thin targets' events: what dm-thin.c logs (mode changes, low water marks, commits, metadata failures)
// and what it does without a word (provisioning, breaking sharing), for the trace and the TUI.

declare module '../../src/base/events.js' {
  interface DmEventMap {
    /** `switching pool to <mode> mode` (the kernel's DMINFO), with the dm event it raises. */
    'thin.pool.mode': { device: string; mode: string; message: string };
    /** A low water mark was reached (data: once per resume; metadata: when free drops to the threshold). */
    'thin.pool.low_water': { device: string; space: 'data' | 'metadata'; message: string };
    /** The metadata was committed. */
    'thin.pool.commit': { device: string; transactionId: string };
    /** A metadata operation failed: the transaction was aborted and the pool went read-only. */
    'thin.pool.metadata_error': { device: string; operation: string; message: string };
    /** A data block was mapped for a virtual block: a new block (zeroed, copied from an origin) or a broken share. */
    'thin.provision': {
      device: string;
      thinId: number;
      virtBlock: number;
      dataBlock: number;
      how: 'zero' | 'overwrite' | 'no-zero' | 'break-sharing' | 'external-copy';
    };
    /** A message the pool carried out (create_thin, create_snap, delete...), after its commit. */
    'thin.pool.message': { device: string; args: string[] };
    /**
     * A thin device's mappings as it goes live (resume): runs of virtual blocks mapped to a block of its own, and
     * runs mapped to a block it shares with a snapshot or an origin (mapped before the device's last snapshot).
     */
    'thin.map': {
      device: string;
      thinId: number;
      blockSectors: number;
      /** The device's length in blocks (the table's length over the block size, rounded up). */
      blocks: number;
      mapped: ThinBlockRun[];
      shared: ThinBlockRun[];
    };
  }
}

/** Virtual blocks [first, first + count). */
export interface ThinBlockRun {
  first: number;
  count: number;
}
