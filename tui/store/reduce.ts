// The store's one entry point: reduce(state, event) -> state. Pure: the same stream always gives the same
// view. Engine kinds are mapped to the slice reducers here; any kind without a mapping is still logged, so
// an event added by another module shows up in the errors/events panel before the TUI learns to draw it.

import { mapForDevice, setCells, setMap } from './device-maps.js';
import {
  deviceFromSnapshot,
  exportFrom,
  putDevice,
  removeDevice,
  setExport,
  setHealth,
  updateDevice,
  updateMirror,
  updateSnapshot,
} from './devices.js';
import { bool, type EngineEvent, field, list, num, str } from './engine-event.js';
import { appendLog, type LogLine, spanText } from './event-log.js';
import { finishJob, newJob, putJob, removeClient, updateClient, updateJob } from './kcopyd-view.js';
import { addBytes, advance } from './throughput.js';
import type { CellState, DeviceRunState, JobStage, LogLevel, SnapshotView, ViewState } from './view-state.js';

type Handler = (s: ViewState, e: EngineEvent) => ViewState;

const SECTOR = 512;
/** Regions of a split master not yet seen (its progress event comes before its first chunk). */
const UNKNOWN = '?';

export function reduce(state: ViewState, e: EngineEvent): ViewState {
  const timed: ViewState = {
    ...state,
    seq: Math.max(state.seq, e.seq),
    now: Math.max(state.now, e.time),
    throughput: advance(state.throughput, e.time),
  };
  const handler = HANDLERS[e.type];
  return handler ? handler(timed, e) : log(timed, e, 'info', describe(e));
}

/** The event kinds the store draws (everything else only reaches the log). */
export function handledKinds(): string[] {
  return Object.keys(HANDLERS);
}

export function reduceAll(state: ViewState, events: Iterable<EngineEvent>): ViewState {
  let s = state;
  for (const e of events) s = reduce(s, e);
  return s;
}

function log(s: ViewState, e: EngineEvent, level: LogLevel, text: string): ViewState {
  const line: LogLine = { seq: e.seq, time: e.time, level, device: deviceOf(e), text };
  return { ...s, log: appendLog(s.log, line) };
}

function deviceOf(e: EngineEvent): string {
  return str(e, 'device', 'name') ?? '';
}

/** A generic one-line description: the kind and its scalar fields. */
function describe(e: EngineEvent): string {
  const skip = new Set(['type', 'seq', 'time', 'device', 'name']);
  const parts = Object.entries(e as unknown as Record<string, unknown>)
    .filter(([k, v]) => !skip.has(k) && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'))
    .map(([k, v]) => `${k}=${String(v)}`);
  return [e.type, ...parts].join(' ');
}

/** A region as kcopyd events carry it ({device, sector, count}) as `device:sector+count`. */
function regionText(v: unknown): string {
  if (typeof v !== 'object' || v === null) return UNKNOWN;
  const r = v as Record<string, unknown>;
  return `${typeof r.device === 'string' ? r.device : UNKNOWN}:${String(r.sector ?? UNKNOWN)}+${String(r.count ?? UNKNOWN)}`;
}

// ---- handlers ---------------------------------------------------------------------------------------

function onDeviceSnapshot(s: ViewState, e: EngineEvent): ViewState {
  const name = str(e, 'name') ?? '';
  const state: DeviceRunState = str(e, 'state') === 'SUSPENDED' ? 'SUSPENDED' : 'ACTIVE';
  const exp = exportFrom(field(e, 'export'));
  const view = deviceFromSnapshot(
    {
      name,
      table: str(e, 'table') ?? '',
      status: str(e, 'status') ?? '',
      state,
      failed: bool(e, 'failed') ?? false,
      ...(exp ? { export: exp } : {}),
    },
    s.devices.get(name),
  );
  // A snapshot of the same table keeps the map the events built; a new table starts a new map.
  const keep = s.devices.get(name)?.table === view.table && s.maps.has(name);
  const fresh = keep ? undefined : mapForDevice(view);
  return { ...s, devices: putDevice(s.devices, view), maps: keep ? s.maps : setMap(s.maps, name, fresh) };
}

function onDeviceGone(s: ViewState, e: EngineEvent): ViewState {
  const name = deviceOf(e);
  return { ...s, devices: removeDevice(s.devices, name), maps: setMap(s.maps, name, undefined) };
}

function onRunState(state: DeviceRunState): Handler {
  return (s, e) => {
    const name = deviceOf(e);
    return log(
      { ...s, devices: updateDevice(s.devices, name, (d) => ({ ...d, state })) },
      e,
      'info',
      state === 'SUSPENDED' ? 'suspended' : 'resumed',
    );
  };
}

function onPaused(s: ViewState, e: EngineEvent): ViewState {
  const paused = bool(e, 'paused') ?? false;
  return log({ ...s, paused }, e, 'info', paused ? 'kcopyd paused' : 'kcopyd resumed');
}

function onIoError(s: ViewState, e: EngineEvent): ViewState {
  const first = num(e, 'sector') ?? 0;
  const op = str(e, 'op') ?? 'io';
  const code = str(e, 'code') ?? 'EIO';
  const span = {
    key: `${op}|${code}`,
    first,
    end: first + (num(e, 'count') ?? 0),
    label: `${op} error`,
    detail: str(e, 'message') ?? code,
  };
  const line: LogLine = { seq: e.seq, time: e.time, level: 'error', device: deviceOf(e), text: spanText(span), span };
  return { ...s, log: appendLog(s.log, line) };
}

/** A completed read or write of a device nothing stacks on (so stacked I/O is not counted twice). */
function onIo(s: ViewState, e: EngineEvent): ViewState {
  const op = str(e, 'op');
  const name = deviceOf(e);
  if (op !== 'read' && op !== 'write') return s;
  const held = [...s.devices.values()].some((d) => d.uses.includes(`/dev/mapper/${name}`));
  return held ? s : { ...s, throughput: addBytes(s.throughput, op, (num(e, 'count') ?? 0) * SECTOR, e.time) };
}

function onClient(s: ViewState, e: EngineEvent): ViewState {
  const id = num(e, 'client') ?? 0;
  const owner = str(e, 'owner') ?? '?';
  const action = str(e, 'action');
  if (action === 'destroyed') {
    // Its finished jobs stay listed (a `copy` client lives only as long as its one job).
    const jobs = new Map([...s.jobs].filter(([, j]) => j.client !== id || j.stage === 'complete'));
    const retiredClients = new Set(s.retiredClients).add(id);
    return { ...s, clients: removeClient(s.clients, id), retiredClients, jobs };
  }
  if (action !== 'create') return s;
  const reservePages = num(e, 'reservePages') ?? 0;
  // Clients come and go with every table and every `copy`: the kcopyd panel shows them, the log does not.
  return { ...s, clients: updateClient(s.clients, id, { owner, reservePages, reserveFree: reservePages }, owner) };
}

function onPool(s: ViewState, e: EngineEvent): ViewState {
  const id = num(e, 'client') ?? 0;
  if (s.retiredClients.has(id)) return s;
  const limit = field(e, 'sharedLimit');
  const shared = {
    limit: typeof limit === 'number' && Number.isFinite(limit) ? limit : null,
    used: num(e, 'engineSharedUsed') ?? s.shared.used,
  };
  const c = s.clients.get(id);
  const clients = updateClient(
    s.clients,
    id,
    {
      reservePages: num(e, 'reserveTotal') ?? c?.reservePages ?? 0,
      reserveFree: num(e, 'reserveFree') ?? c?.reserveFree ?? 0,
      sharedUsed: num(e, 'sharedUsed') ?? c?.sharedUsed ?? 0,
    },
    str(e, 'owner'),
  );
  return { ...s, shared, clients };
}

function onQueues(s: ViewState, e: EngineEvent): ViewState {
  const id = num(e, 'client') ?? 0;
  if (s.retiredClients.has(id)) return s;
  const queues = {
    pages: num(e, 'pagesJobs') ?? 0,
    io: num(e, 'ioJobs') ?? 0,
    complete: num(e, 'completeJobs') ?? 0,
    callback: num(e, 'callbackJobs') ?? 0,
  };
  return { ...s, clients: updateClient(s.clients, id, { queues }, str(e, 'owner')) };
}

/** A region shifted back by a sub-job's offset: the master's region, from one of its chunks. */
function masterRegion(v: unknown, offset: number, total: number): string {
  if (typeof v === 'object' && v !== null) {
    const r = v as Record<string, unknown>;
    if (typeof r.sector === 'number') return regionText({ ...r, sector: r.sector - offset, count: total });
  }
  return regionText(v);
}

/** The job's view, created on first sight; a split master first seen in a progress event gets its regions
 * from its first chunk (shifted back by the chunk's offset). */
function ensureJob(s: ViewState, e: EngineEvent, id: number, total: number, offset: number): ViewState['jobs'] {
  const known = s.jobs.get(id);
  const hasRegions = field(e, 'dests') !== undefined;
  if (known && (known.source !== UNKNOWN || !hasRegions)) return s.jobs;
  const client = num(e, 'client') ?? 0;
  const source = field(e, 'source');
  const totalSectors = known?.totalSectors || total;
  const regions = hasRegions
    ? {
        source: source === null || source === undefined ? 'zero' : masterRegion(source, offset, totalSectors),
        dests: (list(e, 'dests') ?? []).map((d) => masterRegion(d, offset, totalSectors)),
      }
    : { source: UNKNOWN, dests: [] };
  if (known) return putJob(s.jobs, { ...known, ...regions, kind: str(e, 'kind') === 'zero' ? 'zero' : 'copy' });
  return putJob(
    s.jobs,
    newJob({
      id,
      client,
      owner: str(e, 'owner') ?? s.clients.get(client)?.owner ?? '?',
      kind: str(e, 'kind') === 'zero' ? 'zero' : 'copy',
      ...regions,
      totalSectors,
      startedAt: e.time,
    }),
  );
}

const PHASE_STAGE: Record<string, JobStage> = {
  queued: 'queued',
  'pages-wait': 'pages',
  'pages-taken': 'read',
  'read-issued': 'read',
  'read-done': 'read',
  'write-issued': 'write',
  'write-done': 'write',
  rogue: 'write',
};

/**
 * kcopyd.job: the job list shows masters (unsplit jobs and split masters); a sub-job's phase moves its
 * master's stage. Prepared callbacks (kind callback) are not copies and are left out.
 */
function onJob(s: ViewState, e: EngineEvent): ViewState {
  if (str(e, 'kind') === 'callback') return s;
  const id = num(e, 'job') ?? 0;
  const master = num(e, 'master') ?? id;
  const phase = str(e, 'phase') ?? '';
  const count = num(e, 'count') ?? 0;
  let next: ViewState = s;
  if (phase === 'write-done' && str(e, 'kind') === 'copy' && !bool(e, 'readErr') && !num(e, 'writeErr')) {
    next = { ...next, throughput: addBytes(next.throughput, 'copy', count * SECTOR, e.time) };
  }
  if (master !== id) {
    // A chunk of a split job: its master's view follows the most advanced chunk.
    const jobs = ensureJob(next, e, master, 0, num(e, 'offset') ?? 0);
    const stage = PHASE_STAGE[phase];
    return { ...next, jobs: stage && stage !== 'queued' ? updateJob(jobs, master, () => ({ stage })) : jobs };
  }
  let jobs = ensureJob(next, e, id, count, 0);
  if (phase === 'complete') {
    const readErr = bool(e, 'readErr') ?? false;
    const writeErr = num(e, 'writeErr') ?? 0;
    const job = jobs.get(id)!;
    jobs = finishJob(jobs, id, readErr, writeErr, e.time);
    const clients = updateClient(
      next.clients,
      job.client,
      { jobsDone: (next.clients.get(job.client)?.jobsDone ?? 0) + 1 },
      job.owner,
    );
    const failed = readErr || writeErr !== 0;
    const text = `job ${id} (${job.owner}) ${failed ? 'failed' : 'done'}: ${job.source} > ${job.dests.join(',')} read_err=${readErr ? 1 : 0} write_err=0x${(writeErr >>> 0).toString(16)}`;
    return failed ? log({ ...next, jobs, clients }, e, 'error', text) : { ...next, jobs, clients };
  }
  if (phase === 'callback-done') return { ...next, jobs };
  const stage = PHASE_STAGE[phase] ?? 'queued';
  jobs = updateJob(jobs, id, (j) => ({
    // A split master is queued only on complete_jobs; its stage comes from its chunks.
    stage: j.chunks > 1 ? j.stage : stage,
    pages: num(e, 'pages') ?? j.pages,
    readErr: bool(e, 'readErr') ?? j.readErr,
    writeErr: num(e, 'writeErr') ?? j.writeErr,
  }));
  return { ...next, jobs };
}

/** kcopyd.progress: a split master's chunks handed out, done and in flight. */
function onProgress(s: ViewState, e: EngineEvent): ViewState {
  const id = num(e, 'job') ?? 0;
  const total = num(e, 'totalSectors') ?? 0;
  const jobs = ensureJob(s, e, id, total, 0);
  return {
    ...s,
    jobs: updateJob(jobs, id, (j) => ({
      totalSectors: total || j.totalSectors,
      doneSectors: num(e, 'doneSectors') ?? j.doneSectors,
      chunks: num(e, 'chunks') ?? j.chunks,
      subDone: num(e, 'chunksDone') ?? j.subDone,
      subInFlight: num(e, 'inFlight') ?? j.subInFlight,
    })),
  };
}

/** kcopyd.io-error: the failing job's master gets the error bit at once (the io.error event logs it). */
function onKcopydIoError(s: ViewState, e: EngineEvent): ViewState {
  const master = num(e, 'master') ?? num(e, 'job') ?? 0;
  const dest = num(e, 'dest');
  const jobs = updateJob(s.jobs, master, (j) =>
    str(e, 'op') === 'read' ? { readErr: true } : { writeErr: (j.writeErr | (1 << (dest ?? 0))) >>> 0 },
  );
  return { ...s, jobs };
}

function onPass(s: ViewState, e: EngineEvent): ViewState {
  return str(e, 'kind') === 'full' ? { ...s, passes: s.passes + 1 } : s;
}

// ---- snapshot (targets/snapshot/events.ts) ----

/** An exception was allocated: the chunk's copy is pending and the COW store grew by one chunk. */
function onExceptionAllocated(s: ViewState, e: EngineEvent): ViewState {
  const name = deviceOf(e);
  const chunk = num(e, 'oldChunk') ?? 0;
  const size = num(e, 'chunkSize') ?? 0;
  const devices = updateDevice(s.devices, name, (d) =>
    d.snapshot ? { ...d, snapshot: { ...d.snapshot, allocated: d.snapshot.allocated + size } } : d,
  );
  return { ...s, devices, maps: setCells(s.maps, name, chunk, 1, 'pending') };
}

function onExceptionCommitted(s: ViewState, e: EngineEvent): ViewState {
  const name = deviceOf(e);
  const ok = bool(e, 'success') ?? true;
  const next = { ...s, maps: setCells(s.maps, name, num(e, 'oldChunk') ?? 0, 1, ok ? 'remapped' : 'unmapped') };
  return ok ? next : log(next, e, 'error', `exception for chunk ${num(e, 'oldChunk') ?? '?'} lost`);
}

function onCopyFinished(s: ViewState, e: EngineEvent): ViewState {
  const readErr = bool(e, 'readErr') ?? false;
  const writeErr = num(e, 'writeErr') ?? 0;
  if (!readErr && !writeErr) return s;
  return log(
    s,
    e,
    'error',
    `COW copy of chunk ${num(e, 'oldChunk') ?? '?'} failed read_err=${readErr ? 1 : 0} write_err=0x${(writeErr >>> 0).toString(16)}`,
  );
}

function onInvalidated(s: ViewState, e: EngineEvent): ViewState {
  const reason = str(e, 'reason') ?? '';
  return log(
    { ...s, devices: updateSnapshot(s.devices, deviceOf(e), { invalid: true }) },
    e,
    'error',
    `snapshot Invalid${reason ? `: ${reason}` : ''}`,
  );
}

function onOverflow(s: ViewState, e: EngineEvent): ViewState {
  return log(
    { ...s, devices: updateSnapshot(s.devices, deviceOf(e), { overflow: true }) },
    e,
    'error',
    'snapshot Overflow: snapshot writes now fail',
  );
}

function onMergeProgress(s: ViewState, e: EngineEvent): ViewState {
  const name = deviceOf(e);
  const change: Partial<SnapshotView> = { merging: true };
  const allocated = num(e, 'sectorsAllocated');
  const metadata = num(e, 'metadataSectors');
  if (allocated !== undefined) change.allocated = allocated;
  if (metadata !== undefined) change.metadata = metadata;
  const maps = setCells(s.maps, name, num(e, 'firstOldChunk') ?? 0, num(e, 'chunks') ?? 0, 'unmapped');
  return { ...s, devices: updateSnapshot(s.devices, name, change), maps };
}

function onMergeState(s: ViewState, e: EngineEvent): ViewState {
  const name = deviceOf(e);
  const state = str(e, 'state') ?? '';
  const reason = str(e, 'reason') ?? '';
  const devices = updateSnapshot(s.devices, name, {
    merging: state === 'running',
    ...(state === 'failed' ? { mergeFailed: true } : {}),
  });
  return log(
    { ...s, devices },
    e,
    state === 'failed' ? 'error' : 'info',
    `merge ${state}${reason ? `: ${reason}` : ''}`,
  );
}

// ---- NBD exports (src/nbd/export-events.ts) ----

function onExport(s: ViewState, e: EngineEvent): ViewState {
  const name = deviceOf(e);
  if (str(e, 'action') === 'unexported')
    return log({ ...s, devices: setExport(s.devices, name, undefined) }, e, 'info', 'NBD export withdrawn');
  const exp = exportFrom(e);
  if (!exp) return log(s, e, 'info', describe(e));
  return log(
    { ...s, devices: setExport(s.devices, name, exp) },
    e,
    'info',
    `exported over NBD${exp.readOnly ? ' read-only' : ''} at ${exp.uri}`,
  );
}

function onNbdClient(s: ViewState, e: EngineEvent): ViewState {
  const name = deviceOf(e);
  const clients = num(e, 'clients');
  const exp = s.devices.get(name)?.export;
  const devices = exp && clients !== undefined ? setExport(s.devices, name, { ...exp, clients }) : s.devices;
  // Without the count in the text, a client opening several connections at once (nbdcopy) makes one line.
  return log({ ...s, devices }, e, 'info', `NBD client ${str(e, 'action') ?? 'changed'}`);
}

// ---- mirror (targets/mirror/mirror-events.ts) ----

const REGION_STATES: Record<string, CellState> = {
  clean: 'clean',
  dirty: 'dirty',
  nosync: 'nosync',
  recovering: 'recovering',
};

function onRegion(s: ViewState, e: EngineEvent): ViewState {
  const state = REGION_STATES[str(e, 'state') ?? ''];
  return state ? { ...s, maps: setCells(s.maps, deviceOf(e), num(e, 'region') ?? 0, 1, state) } : s;
}

function onRecovery(s: ViewState, e: EngineEvent): ViewState {
  const name = deviceOf(e);
  const region = num(e, 'region') ?? 0;
  if (str(e, 'phase') === 'start') return { ...s, maps: setCells(s.maps, name, region, 1, 'recovering') };
  if (bool(e, 'ok') === true) return { ...s, maps: setCells(s.maps, name, region, 1, 'clean') };
  if (bool(e, 'ok') === false) {
    return log(
      { ...s, maps: setCells(s.maps, name, region, 1, 'nosync') },
      e,
      'error',
      `resync of region ${region} failed read_err=${bool(e, 'readErr') ? 1 : 0} write_err=0x${((num(e, 'writeErr') ?? 0) >>> 0).toString(16)}`,
    );
  }
  return s;
}

function onSync(s: ViewState, e: EngineEvent): ViewState {
  const name = deviceOf(e);
  const inSync = num(e, 'inSync');
  const total = num(e, 'total');
  const next = {
    ...s,
    devices: updateMirror(s.devices, name, (m) => ({ inSync: inSync ?? m.inSync, regions: total ?? m.regions })),
  };
  return bool(e, 'complete') ? log(next, e, 'info', 'mirror in sync') : next;
}

function onLeg(s: ViewState, e: EngineEvent): ViewState {
  const name = deviceOf(e);
  const leg = num(e, 'leg') ?? 0;
  const health = str(e, 'health') ?? 'A';
  const reason = str(e, 'reason') ?? '';
  const primary = num(e, 'defaultLeg');
  const devices = updateMirror(s.devices, name, (m) => ({
    health: setHealth(m.health, leg, health),
    primary: primary ?? m.primary,
  }));
  const text =
    reason === 'default'
      ? `primary switched to leg ${primary ?? '?'} (${str(e, 'name') ?? ''})`
      : reason === 'reset'
        ? `leg ${leg} health reset to ${health}`
        : `leg ${leg} (${str(e, 'name') ?? ''}) ${reason} failure: health ${health}`;
  return log({ ...s, devices }, e, reason === 'reset' ? 'info' : 'error', text);
}

function onMirrorLog(s: ViewState, e: EngineEvent): ViewState {
  const health = str(e, 'health') ?? 'A';
  const name = deviceOf(e);
  const devices = updateMirror(s.devices, name, (m) => ({ log: m.log.replace(/ [ADF]$/, ` ${health}`) }));
  return log({ ...s, devices }, e, health === 'A' ? 'info' : 'error', `log ${str(e, 'log') ?? ''} health ${health}`);
}

const HANDLERS: Record<string, Handler> = {
  'tui.device': onDeviceSnapshot,
  'tui.device-gone': onDeviceGone,
  'tui.paused': onPaused,
  // The TUI's clock: closes throughput buckets while no engine event arrives (reduce() advances them).
  'tui.tick': (s) => s,
  'tui.output': (s, e) => log(s, e, 'info', `> ${str(e, 'text') ?? ''}`),
  // A lesson's step outcome (scenario mode): a step that is not ok is an error.
  'tui.lesson': (s, e) => log(s, e, bool(e, 'error') ? 'error' : 'info', str(e, 'text') ?? ''),
  'io.error': onIoError,
  'dm.io': onIo,
  'dm.created': (s, e) => log(s, e, 'info', 'created'),
  'dm.removed': (s, e) => log(onDeviceGone(s, e), e, 'info', 'removed'),
  'dm.loaded': (s, e) =>
    log(
      s,
      e,
      'info',
      `table loaded (inactive): ${num(e, 'targets') ?? '?'} targets, ${num(e, 'sizeSectors') ?? '?'} sectors`,
    ),
  'dm.table_swapped': (s, e) => log(s, e, 'info', 'new table live'),
  'dm.suspended': onRunState('SUSPENDED'),
  'dm.resumed': onRunState('ACTIVE'),
  'dm.event': (s, e) => log(s, e, 'info', 'dm event'),
  'kcopyd.client': onClient,
  'kcopyd.pool': onPool,
  'kcopyd.queues': onQueues,
  'kcopyd.job': onJob,
  'kcopyd.progress': onProgress,
  'kcopyd.io-error': onKcopydIoError,
  'kcopyd.pass': onPass,
  'kcopyd.throttle': (s) => s,
  'snapshot.exception.allocated': onExceptionAllocated,
  'snapshot.exception.committed': onExceptionCommitted,
  'snapshot.copy.started': (s, e) => ({
    ...s,
    maps: setCells(s.maps, deviceOf(e), num(e, 'oldChunk') ?? 0, 1, 'pending'),
  }),
  'snapshot.copy.finished': onCopyFinished,
  'snapshot.invalidated': onInvalidated,
  'snapshot.overflow': onOverflow,
  'snapshot.merge.progress': onMergeProgress,
  'snapshot.merge.state': onMergeState,
  'mirror.region': onRegion,
  'mirror.recovery': onRecovery,
  'mirror.sync': onSync,
  'mirror.leg': onLeg,
  'mirror.log': onMirrorLog,
  'dm.warning': (s, e) => log(s, e, 'warn', str(e, 'message') ?? ''),
  // dm-thin: what the kernel logs, and each block provisioned (the pool and map panels are still to come).
  'thin.pool.mode': (s, e) => log(s, e, str(e, 'mode') === 'write' ? 'info' : 'error', str(e, 'message') ?? ''),
  'thin.pool.low_water': (s, e) => log(s, e, 'warn', str(e, 'message') ?? ''),
  'thin.pool.metadata_error': (s, e) => log(s, e, 'error', str(e, 'message') ?? ''),
  'thin.pool.commit': (s) => s,
  'thin.provision': (s, e) =>
    log(
      s,
      e,
      'info',
      `thin ${num(e, 'thinId') ?? '?'}: block ${num(e, 'virtBlock') ?? '?'} -> data block ${num(e, 'dataBlock') ?? '?'} (${str(e, 'how') ?? ''})`,
    ),
  'nbd.export': onExport,
  'nbd.client': onNbdClient,
};
