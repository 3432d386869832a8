// The snapshot targets' events (dm-snap.c has no tracepoints; these show what it does): exceptions allocated and
// committed, COW copies started and finished, invalidation, overflow and merge progress. The TUI's chunk map
// is drawn from these.

interface SnapshotExceptionEvent {
  /** The mapped device the snapshot (or snapshot-merge) table belongs to. */
  device: string;
  oldChunk: number;
  newChunk: number;
  chunkSize: number;
}

declare module '../../src/base/events.js' {
  interface DmEventMap {
    /** A COW chunk was handed out for an origin chunk; cause says which write needed it. */
    'snapshot.exception.allocated': SnapshotExceptionEvent & { cause: 'origin-write' | 'snapshot-write' | 'merge' };
    /** The record is durable (persistent) or in the table (transient); success false = the snapshot lost it. */
    'snapshot.exception.committed': SnapshotExceptionEvent & { success: boolean };
    /**
     * kcopyd copy origin -> COW started ('full-write': the snapshot write covers the chunk, no copy needed). job: the
     * kcopyd job doing the copy (its kcopyd.job events' `job`); absent for a full write.
     */
    'snapshot.copy.started': SnapshotExceptionEvent & { sectors: number; mode: 'copy' | 'full-write'; job?: number };
    'snapshot.copy.finished': SnapshotExceptionEvent & { readErr: boolean; writeErr: number };
    'snapshot.invalidated': { device: string; reason: string };
    'snapshot.overflow': { device: string };
    /** A merge run went back to the origin and its records were cleared. */
    'snapshot.merge.progress': {
      device: string;
      firstOldChunk: number;
      firstNewChunk: number;
      chunks: number;
      sectorsAllocated: number;
      metadataSectors: number;
      /** The kcopyd job that copied the run from the COW to the origin. */
      job?: number;
    };
    'snapshot.merge.state': { device: string; state: 'running' | 'stopped' | 'finished' | 'failed'; reason: string };
  }
}

export {};
