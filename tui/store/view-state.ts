// ViewState: everything the TUI draws, as plain data. Built only by the reducers in this folder from engine
// events and status snapshots; components read it and never reach into the engine.

export type DeviceRunState = 'ACTIVE' | 'SUSPENDED';

export interface SnapshotView {
  /** Sectors allocated in the COW store, its size, and metadata sectors (the status line's three numbers). */
  allocated: number;
  total: number;
  metadata: number;
  invalid: boolean;
  overflow: boolean;
  merging: boolean;
  mergeFailed: boolean;
  /** The origin device word from the table, used to place the snapshot under its origin. */
  origin: string;
  /** The COW device word from the table: a merge through another device clears the chunks it merges here too. */
  cow: string;
  chunkSectors: number;
}

export interface MirrorView {
  legs: string[];
  inSync: number;
  regions: number;
  /** One health letter per leg (A, D, S, R, U, F). */
  health: string;
  /** Index of the default (primary) leg. */
  primary: number;
  log: string;
  regionSectors: number;
}

/** A thin-pool's status line (dm-thin.c pool_status): `Fail` and `Error` leave the numbers at their last values. */
export interface ThinPoolView {
  transactionId: string;
  metadataUsed: number;
  metadataTotal: number;
  dataUsed: number;
  dataTotal: number;
  /** rw, ro, out_of_data_space, Fail or Error. */
  mode: string;
  needsCheck: boolean;
  /** From the table: the data block size (sectors) and the low water mark (blocks). */
  blockSectors: number;
  lowWater: number;
}

/** A thin device: its pool (a mapped device's name when the table names one), id, and status numbers. */
export interface ThinView {
  pool: string;
  thinId: number;
  mappedSectors: number;
  failed: boolean;
}

/** An NBD export of the device (`dmsim export`), as `ls --json` shows it. */
export interface ExportView {
  /** unix:PATH or tcp:HOST:PORT. */
  listen: string;
  /** What a client connects to: nbd://HOST:PORT/NAME or nbd+unix:///NAME?socket=PATH. */
  uri: string;
  readOnly: boolean;
  /** Connections in the transmission phase. */
  clients: number;
}

export interface DeviceView {
  name: string;
  /** Target type of the live table (the first line's, or "multi"). */
  target: string;
  sizeSectors: number;
  state: DeviceRunState;
  /** Devices named by the live table, as written there. */
  uses: string[];
  /** The live table's text (a new table means a new map). */
  table: string;
  snapshot?: SnapshotView;
  mirror?: MirrorView;
  thinPool?: ThinPoolView;
  thin?: ThinView;
  /** Set while a `fail` shortcut has an error table under this device. */
  failed: boolean;
  export?: ExportView;
}

/**
 * Where a job is in dm-kcopyd.c's lists: queued on pages_jobs; pages: back at its head, waiting for pages
 * (head-of-line); read-queued / write-queued: on io_jobs, its next I/O not yet issued; reading / writing: that
 * I/O in flight; finishing: on complete_jobs, its callback runs at the next worker pass; complete: it ran.
 */
export type JobStage =
  | 'queued'
  | 'pages'
  | 'read-queued'
  | 'reading'
  | 'write-queued'
  | 'writing'
  | 'finishing'
  | 'complete';

export interface JobView {
  id: number;
  client: number;
  owner: string;
  kind: 'copy' | 'zero';
  /** `dev:sector+count`, or `zero` for a zero job. */
  source: string;
  dests: string[];
  stage: JobStage;
  totalSectors: number;
  /** Sectors whose sub-jobs completed. */
  doneSectors: number;
  /** Sub-jobs (chunks) in all, done, and in flight (at most 8); an unsplit job is one chunk. */
  chunks: number;
  subDone: number;
  subInFlight: number;
  /** Pages the (unsplit) job holds. */
  pages: number;
  readErr: boolean;
  writeErr: number;
  startedAt: number;
  endedAt?: number;
}

export interface KcopydClientView {
  id: number;
  owner: string;
  reservePages: number;
  reserveFree: number;
  /** Pages this client holds from the shared pool (beyond its reserve). */
  sharedUsed: number;
  queues: { pages: number; io: number; complete: number; callback: number };
  jobsDone: number;
}

interface SharedPoolView {
  /** Pages all clients may take beyond their reserves; null when unlimited. */
  limit: number | null;
  used: number;
}

/** Cell states of a device map: mirror regions or snapshot chunks. */
export type CellState =
  | 'clean'
  | 'dirty'
  | 'recovering'
  | 'nosync'
  | 'remapped'
  | 'pending'
  | 'merging'
  | 'unmapped'
  | 'mapped'
  | 'shared';

export interface DeviceMapView {
  kind: 'regions' | 'chunks' | 'blocks';
  /** Number of regions or chunks the device has. */
  size: number;
  /** Cells that are not in the default state (unmapped chunks / in-sync clean regions are absent). */
  cells: ReadonlyMap<number, CellState>;
  /** State of a cell that is not in `cells`. */
  base: CellState;
}

export type LogLevel = 'error' | 'warn' | 'info';

export interface LogEntry {
  /** The entry's number, counted from 1 as entries are added (`show N` opens it). */
  n: number;
  seq: number;
  time: number;
  level: LogLevel;
  device: string;
  text: string;
  /** How many events in a row this entry stands for (1 = just itself). */
  repeat: number;
  /** For I/O errors: the sectors covered, so a run of errors on neighbouring sectors folds into one line. */
  span?: LogSpan;
}

export interface LogSpan {
  /** Entries fold only with the same key (device, op and error code). */
  key: string;
  first: number;
  end: number;
  /** The text is `${label} at sector ${first}+${end - first}: ${detail}`. */
  label: string;
  detail: string;
}

export interface EventLogView {
  /** Newest first. */
  entries: LogEntry[];
  capacity: number;
  /** Older entries pushed out of the bounded list, counted so nothing disappears silently. */
  folded: number;
  errors: number;
  /** The number the last entry got. */
  numbered: number;
  /** The newest error, kept even after it scrolled out of the list. */
  lastError?: LogEntry;
}

export type RateKind = 'read' | 'write' | 'copy';

export interface ThroughputView {
  /** Bytes counted in the bucket that is still open. */
  pending: Record<RateKind, number>;
  bucketStart: number;
  bucketMs: number;
  /** Closed buckets as bytes per second, oldest first, at most `historyLength` each. */
  history: Record<RateKind, number[]>;
  historyLength: number;
  totals: Record<RateKind, number>;
}

export interface ViewState {
  devices: ReadonlyMap<string, DeviceView>;
  clients: ReadonlyMap<number, KcopydClientView>;
  /** Clients that were destroyed: a worker pass that was already queued may still report on them. */
  retiredClients: ReadonlySet<number>;
  shared: SharedPoolView;
  /** Live jobs plus the most recently completed ones. */
  jobs: ReadonlyMap<number, JobView>;
  maps: ReadonlyMap<string, DeviceMapView>;
  log: EventLogView;
  throughput: ThroughputView;
  paused: boolean;
  /** kcopyd worker passes run so far (all clients). */
  passes: number;
  /** The event-log entry opened to read in full (enter on an event, or `show N`), or null. */
  opened: number | null;
  /** Last event sequence number applied (the stream's position). */
  seq: number;
  now: number;
}

const LOG_CAPACITY = 200;
const HISTORY_LENGTH = 60;
/** Finished jobs kept visible after completion. */
export const FINISHED_JOBS_KEPT = 6;

export function initialState(now = 0, options: { logCapacity?: number; bucketMs?: number } = {}): ViewState {
  const zero = (): Record<RateKind, number> => ({ read: 0, write: 0, copy: 0 });
  return {
    devices: new Map(),
    clients: new Map(),
    retiredClients: new Set(),
    shared: { limit: null, used: 0 },
    jobs: new Map(),
    maps: new Map(),
    log: { entries: [], capacity: options.logCapacity ?? LOG_CAPACITY, folded: 0, errors: 0, numbered: 0 },
    throughput: {
      pending: zero(),
      bucketStart: now,
      bucketMs: options.bucketMs ?? 1000,
      history: { read: [], write: [], copy: [] },
      historyLength: HISTORY_LENGTH,
      totals: zero(),
    },
    paused: false,
    passes: 0,
    opened: null,
    seq: 0,
    now,
  };
}
