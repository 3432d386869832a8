// The store's one entry point: reduce(state, event) -> state. Pure: the same stream always gives the same
// view. Every event kind (DmEventMap's and the UI's own) is mapped to its slice reducer here, each given its
// kind's typed event: the events were checked where they entered (the bus is typed; a daemon's stream is checked
// at the socket), so the handlers read fields as they are. A kind without a handler does not compile.

import { explainChange } from '../../src/control/status-history.js';
import type { KcopydRegionInfo } from '../../src/kcopyd/events.js';
import { changeSummary } from '../../targets/status-explain.js';
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
import type { EngineEvent } from './engine-event.js';
import { appendLog, type LogLine, spanText } from './event-log.js';
import { finishJob, newJob, putJob, removeClient, updateClient, updateJob } from './kcopyd-view.js';
import { keepsThinMap, onThinMap, onThinPoolMessage, onThinProvision } from './thin-view.js';
import { addBytes, advance } from './throughput.js';
import type { CellState, DeviceRunState, JobStage, LogLevel, SnapshotView, ViewState } from './view-state.js';

type Kind = EngineEvent['type'];
type Of<K extends Kind> = Extract<EngineEvent, { type: K }>;
type Handler<K extends Kind> = (s: ViewState, e: Of<K>) => ViewState;
/** Events of any of the kinds K (for handlers several kinds share). */
type Any<K extends Kind> = Of<K>;

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
  // HANDLERS maps each kind to the handler of that kind's events.
  return (HANDLERS[e.type] as Handler<Kind>)(timed, e);
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

/** The device an event is about ('' for kcopyd's and the UI's own). */
function deviceOf(e: EngineEvent): string {
  if ('device' in e) return e.device;
  return e.type === 'tui.device' ? e.name : '';
}

/** A region as kcopyd events carry it as `device:sector+count`. */
function regionText(r: KcopydRegionInfo): string {
  return `${r.device}:${r.sector}+${r.count}`;
}

// ---- handlers ---------------------------------------------------------------------------------------

function onDeviceSnapshot(s: ViewState, e: Of<'tui.device'>): ViewState {
  const name = e.name;
  const state: DeviceRunState = e.state === 'SUSPENDED' ? 'SUSPENDED' : 'ACTIVE';
  // The export is the daemon's `ls` reply, not an event: read as a reply is.
  const exp = exportFrom(e.export);
  const view = deviceFromSnapshot(
    {
      name,
      table: e.table,
      status: e.status,
      state,
      failed: e.failed ?? false,
      ...(exp ? { export: exp } : {}),
    },
    s.devices.get(name),
  );
  // A snapshot of the same table keeps the map the events built; a new table starts a new map.
  const keep = (s.devices.get(name)?.table === view.table && s.maps.has(name)) || keepsThinMap(view, s.maps.get(name));
  const fresh = keep ? undefined : mapForDevice(view);
  return { ...s, devices: putDevice(s.devices, view), maps: keep ? s.maps : setMap(s.maps, name, fresh) };
}

function onDeviceGone(s: ViewState, e: Any<'tui.device-gone' | 'dm.removed'>): ViewState {
  const name = deviceOf(e);
  return { ...s, devices: removeDevice(s.devices, name), maps: setMap(s.maps, name, undefined) };
}

/** dmsetup rename: the device's view and map move to the new name (a --setuuid leaves the name as it was). */
function onRenamed(s: ViewState, e: Of<'dm.renamed'>): ViewState {
  const from = deviceOf(e);
  const view = s.devices.get(from);
  const text = e.name === from ? `uuid set to ${e.uuid ?? ''}` : `renamed to ${e.name}`;
  if (e.name === from || !view) return log(s, e, 'info', text);
  const devices = putDevice(removeDevice(s.devices, from), { ...view, name: e.name });
  const maps = setMap(setMap(s.maps, e.name, s.maps.get(from)), from, undefined);
  return log({ ...s, devices, maps }, e, 'info', text);
}

function onRunState<K extends 'dm.suspended' | 'dm.resumed'>(state: DeviceRunState): Handler<K> {
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

function onPaused(s: ViewState, e: Of<'tui.paused'>): ViewState {
  const paused = e.paused;
  return log({ ...s, paused }, e, 'info', paused ? 'kcopyd paused' : 'kcopyd resumed');
}

function onIoError(s: ViewState, e: Of<'io.error'>): ViewState {
  const { sector: first, op, code } = e;
  // Only errors of the same request fold into one span (a dead leg failing sector by sector); two sub-jobs
  // failing on adjacent sectors are two events.
  const key = `${op}|${code}|${e.issuer ?? ''}`;
  const span = { key, first, end: first + e.count, label: `${op} error`, detail: e.message };
  const line: LogLine = { seq: e.seq, time: e.time, level: 'error', device: deviceOf(e), text: spanText(span), span };
  return { ...s, log: appendLog(s.log, line) };
}

/** A completed read or write of a device nothing stacks on (so stacked I/O is not counted twice). */
function onIo(s: ViewState, e: Of<'dm.io'>): ViewState {
  const held = [...s.devices.values()].some((d) => d.uses.includes(`/dev/mapper/${e.device}`));
  return held ? s : { ...s, throughput: addBytes(s.throughput, e.op, e.count * SECTOR, e.time) };
}

function onClient(s: ViewState, e: Of<'kcopyd.client'>): ViewState {
  const { client: id, owner, action } = e;
  if (action === 'destroyed') {
    // Its finished jobs stay listed (a `copy` client lives only as long as its one job).
    const jobs = new Map([...s.jobs].filter(([, j]) => j.client !== id || j.stage === 'complete'));
    const retiredClients = new Set(s.retiredClients).add(id);
    return { ...s, clients: removeClient(s.clients, id), retiredClients, jobs };
  }
  if (action !== 'create') return s;
  const reservePages = e.reservePages;
  // Clients come and go with every table and every `copy`: the kcopyd panel shows them, the log does not.
  return { ...s, clients: updateClient(s.clients, id, { owner, reservePages, reserveFree: reservePages }, owner) };
}

function onPool(s: ViewState, e: Of<'kcopyd.pool'>): ViewState {
  const id = e.client;
  if (s.retiredClients.has(id)) return s;
  const shared = { limit: e.sharedLimit, used: e.engineSharedUsed };
  const clients = updateClient(
    s.clients,
    id,
    { reservePages: e.reserveTotal, reserveFree: e.reserveFree, sharedUsed: e.sharedUsed },
    e.owner,
  );
  return { ...s, shared, clients };
}

function onQueues(s: ViewState, e: Of<'kcopyd.queues'>): ViewState {
  if (s.retiredClients.has(e.client)) return s;
  const queues = { pages: e.pagesJobs, io: e.ioJobs, complete: e.completeJobs, callback: e.callbackJobs };
  return { ...s, clients: updateClient(s.clients, e.client, { queues }, e.owner) };
}

/** A region shifted back by a sub-job's offset: the master's region, from one of its chunks. */
function masterRegion(r: KcopydRegionInfo, offset: number, total: number): string {
  return regionText({ ...r, sector: r.sector - offset, count: total });
}

/** The job's view, created on first sight; a split master first seen in a progress event gets its regions
 * from its first chunk (shifted back by the chunk's offset). */
function ensureJob(
  s: ViewState,
  e: Any<'kcopyd.job' | 'kcopyd.progress'>,
  id: number,
  total: number,
  offset: number,
): ViewState['jobs'] {
  const known = s.jobs.get(id);
  const job = e.type === 'kcopyd.job' ? e : undefined;
  if (known && (known.source !== UNKNOWN || !job)) return s.jobs;
  const totalSectors = known?.totalSectors || total;
  const regions = job
    ? {
        source: job.source === null ? 'zero' : masterRegion(job.source, offset, totalSectors),
        dests: job.dests.map((d) => masterRegion(d, offset, totalSectors)),
      }
    : { source: UNKNOWN, dests: [] };
  const kind = job?.kind === 'zero' ? 'zero' : 'copy';
  if (known) return putJob(s.jobs, { ...known, ...regions, kind });
  return putJob(
    s.jobs,
    newJob({
      id,
      client: e.client,
      owner: e.owner,
      kind,
      ...regions,
      totalSectors,
      startedAt: e.time,
    }),
  );
}

/** The stage a (sub-)job event puts the job in; undefined for complete and callback-done (finishJob's). */
function stageOf(e: Of<'kcopyd.job'>): JobStage | undefined {
  switch (e.phase) {
    case 'queued':
      if (e.list === 'pages_jobs') return 'queued';
      if (e.list === 'io_jobs') return e.op === 'read' ? 'read-queued' : 'write-queued';
      return 'finishing'; // complete_jobs, or callback_jobs for a job with nothing to copy
    case 'pages-wait':
      return 'pages';
    case 'pages-taken':
      return 'read-queued'; // run_pages_job puts it straight on io_jobs
    case 'read-issued':
    case 'read-done': // the next event moves it on: to io_jobs to write, or to complete_jobs on an error
      return 'reading';
    case 'write-issued':
    case 'write-done':
      return 'writing';
    case 'rogue':
      return 'finishing';
    default:
      return undefined;
  }
}

/**
 * kcopyd.job: the job list shows masters (unsplit jobs and split masters); a sub-job's stage moves its master's,
 * except that a later chunk queued afresh does not take a master whose other chunks are further on back to queued.
 * Prepared callbacks (kind callback) are not copies and are left out.
 */
function onJob(s: ViewState, e: Of<'kcopyd.job'>): ViewState {
  if (e.kind === 'callback') return s;
  const { job: id, master, phase, count } = e;
  let next: ViewState = s;
  if (phase === 'write-done' && e.kind === 'copy' && !e.readErr && !e.writeErr) {
    next = { ...next, throughput: addBytes(next.throughput, 'copy', count * SECTOR, e.time) };
  }
  if (master !== id) {
    // A chunk of a split job: its master's view follows the chunk that moved last.
    const jobs = ensureJob(next, e, master, 0, e.offset);
    const stage = stageOf(e);
    const moves = stage !== undefined && (stage !== 'queued' || e.offset === 0);
    return { ...next, jobs: moves ? updateJob(jobs, master, () => ({ stage })) : jobs };
  }
  let jobs = ensureJob(next, e, id, count, 0);
  if (phase === 'complete') {
    const { readErr, writeErr } = e;
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
  const stage = stageOf(e);
  if (stage === undefined) return { ...next, jobs };
  jobs = updateJob(jobs, id, () => ({ stage, pages: e.pages, readErr: e.readErr, writeErr: e.writeErr }));
  return { ...next, jobs };
}

/** kcopyd.progress: a split master's chunks handed out, done and in flight. */
function onProgress(s: ViewState, e: Of<'kcopyd.progress'>): ViewState {
  const { job: id, totalSectors: total } = e;
  const jobs = ensureJob(s, e, id, total, 0);
  return {
    ...s,
    jobs: updateJob(jobs, id, (j) => ({
      totalSectors: total || j.totalSectors,
      doneSectors: e.doneSectors,
      chunks: e.chunks,
      subDone: e.chunksDone,
      subInFlight: e.inFlight,
    })),
  };
}

/** kcopyd.io-error: the failing job's master gets the error bit at once (the io.error event logs it). */
function onKcopydIoError(s: ViewState, e: Of<'kcopyd.io-error'>): ViewState {
  const jobs = updateJob(s.jobs, e.master, (j) =>
    e.op === 'read' ? { readErr: true } : { writeErr: (j.writeErr | (1 << (e.dest ?? 0))) >>> 0 },
  );
  return { ...s, jobs };
}

function onPass(s: ViewState, e: Of<'kcopyd.pass'>): ViewState {
  return e.kind === 'full' ? { ...s, passes: s.passes + 1 } : s;
}

// ---- snapshot (targets/snapshot/events.ts) ----

/** An exception was allocated: the chunk's copy is pending and the COW store grew by one chunk. */
function onExceptionAllocated(s: ViewState, e: Of<'snapshot.exception.allocated'>): ViewState {
  const { device: name, oldChunk: chunk, chunkSize: size } = e;
  const devices = updateDevice(s.devices, name, (d) =>
    d.snapshot ? { ...d, snapshot: { ...d.snapshot, allocated: d.snapshot.allocated + size } } : d,
  );
  return { ...s, devices, maps: setCells(s.maps, name, chunk, 1, 'pending') };
}

function onExceptionCommitted(s: ViewState, e: Of<'snapshot.exception.committed'>): ViewState {
  const ok = e.success;
  const next = { ...s, maps: setCells(s.maps, e.device, e.oldChunk, 1, ok ? 'remapped' : 'unmapped') };
  return ok ? next : log(next, e, 'error', `exception for chunk ${e.oldChunk} lost`);
}

function onCopyFinished(s: ViewState, e: Of<'snapshot.copy.finished'>): ViewState {
  const { readErr, writeErr } = e;
  if (!readErr && !writeErr) return s;
  return log(
    s,
    e,
    'error',
    `COW copy of chunk ${e.oldChunk} failed read_err=${readErr ? 1 : 0} write_err=0x${(writeErr >>> 0).toString(16)}`,
  );
}

function onInvalidated(s: ViewState, e: Of<'snapshot.invalidated'>): ViewState {
  const reason = e.reason;
  return log(
    { ...s, devices: updateSnapshot(s.devices, deviceOf(e), { invalid: true }) },
    e,
    'error',
    `snapshot Invalid${reason ? `: ${reason}` : ''}`,
  );
}

function onOverflow(s: ViewState, e: Of<'snapshot.overflow'>): ViewState {
  return log(
    { ...s, devices: updateSnapshot(s.devices, deviceOf(e), { overflow: true }) },
    e,
    'error',
    'snapshot Overflow: snapshot writes now fail',
  );
}

function onMergeProgress(s: ViewState, e: Of<'snapshot.merge.progress'>): ViewState {
  const name = e.device;
  const change: Partial<SnapshotView> = { merging: true, allocated: e.sectorsAllocated, metadata: e.metadataSectors };
  // The merged exceptions are gone from the COW: from the merging device's map, and from the map of the old
  // snapshot device on the same COW (suspended while lvconvert --merge runs; Invalid once resumed).
  const cow = s.devices.get(name)?.snapshot?.cow;
  let maps = setCells(s.maps, name, e.firstOldChunk, e.chunks, 'unmapped');
  for (const d of s.devices.values()) {
    if (d.name !== name && cow !== undefined && d.snapshot?.cow === cow)
      maps = setCells(maps, d.name, e.firstOldChunk, e.chunks, 'unmapped');
  }
  return { ...s, devices: updateSnapshot(s.devices, name, change), maps };
}

function onMergeState(s: ViewState, e: Of<'snapshot.merge.state'>): ViewState {
  const { device: name, state, reason } = e;
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

function onExport(s: ViewState, e: Of<'nbd.export'>): ViewState {
  const name = e.device;
  if (e.action === 'unexported')
    return log({ ...s, devices: setExport(s.devices, name, undefined) }, e, 'info', 'NBD export withdrawn');
  const exp = { listen: e.listen, uri: e.uri, readOnly: e.readOnly, clients: e.clients };
  return log(
    { ...s, devices: setExport(s.devices, name, exp) },
    e,
    'info',
    `exported over NBD${exp.readOnly ? ' read-only' : ''} at ${exp.uri}`,
  );
}

function onNbdClient(s: ViewState, e: Of<'nbd.client'>): ViewState {
  const { device: name, clients } = e;
  const exp = s.devices.get(name)?.export;
  const devices = exp ? setExport(s.devices, name, { ...exp, clients }) : s.devices;
  // Without the count in the text, a client opening several connections at once (nbdcopy) makes one line.
  return log({ ...s, devices }, e, 'info', `NBD client ${e.action}`);
}

// ---- mirror (targets/mirror/mirror-events.ts) ----

function onRegion(s: ViewState, e: Of<'mirror.region'>): ViewState {
  // The region map's cells are named after the region-hash states.
  const state: CellState = e.state;
  return { ...s, maps: setCells(s.maps, e.device, e.region, 1, state) };
}

function onRecovery(s: ViewState, e: Of<'mirror.recovery'>): ViewState {
  const { device: name, region } = e;
  if (e.phase === 'start') return { ...s, maps: setCells(s.maps, name, region, 1, 'recovering') };
  if (e.ok === true) return { ...s, maps: setCells(s.maps, name, region, 1, 'clean') };
  if (e.ok === false) {
    return log(
      { ...s, maps: setCells(s.maps, name, region, 1, 'nosync') },
      e,
      'error',
      `resync of region ${region} failed read_err=${e.readErr ? 1 : 0} write_err=0x${((e.writeErr ?? 0) >>> 0).toString(16)}`,
    );
  }
  return s;
}

function onSync(s: ViewState, e: Of<'mirror.sync'>): ViewState {
  const next = { ...s, devices: updateMirror(s.devices, e.device, () => ({ inSync: e.inSync, regions: e.total })) };
  return e.complete ? log(next, e, 'info', 'mirror in sync') : next;
}

function onLeg(s: ViewState, e: Of<'mirror.leg'>): ViewState {
  const { leg, health, reason, defaultLeg: primary } = e;
  const devices = updateMirror(s.devices, e.device, (m) => ({ health: setHealth(m.health, leg, health), primary }));
  const text =
    reason === 'default'
      ? `primary switched to leg ${primary} (${e.name})`
      : reason === 'reset'
        ? `leg ${leg} health reset to ${health}`
        : `leg ${leg} (${e.name}) ${reason} failure: health ${health}`;
  return log({ ...s, devices }, e, reason === 'reset' ? 'info' : 'error', text);
}

function onMirrorLog(s: ViewState, e: Of<'mirror.log'>): ViewState {
  const health = e.health;
  const devices = updateMirror(s.devices, e.device, (m) => ({ log: m.log.replace(/ [ADF]$/, ` ${health}`) }));
  return log({ ...s, devices }, e, health === 'A' ? 'info' : 'error', `log ${e.log} health ${health}`);
}

/**
 * A device's status line changed (the daemon's StatusHistory): one entry whose first line names the changed
 * fields and the first cause; opened (enter, show N) it shows the old and new line, every field and cause.
 */
function onStatusChanged(s: ViewState, e: Of<'status.changed'>): ViewState {
  const summary = changeSummary(e.changes);
  const because =
    e.causes.length > 0 ? `: ${e.causes[0]}${e.causes.length > 1 ? ` (+${e.causes.length - 1} more)` : ''}` : '';
  return log(s, e, 'info', [`status ${summary}${because}`, ...explainChange(e)].join('\n'));
}

const HANDLERS: { [K in Kind]: Handler<K> } = {
  'tui.device': onDeviceSnapshot,
  'tui.device-gone': onDeviceGone,
  'tui.paused': onPaused,
  // The TUI's clock: closes throughput buckets while no engine event arrives (reduce() advances them).
  'tui.tick': (s) => s,
  'tui.output': (s, e) => log(s, e, 'info', `> ${e.text}`),
  // A lesson's step outcome (scenario mode): a step that is not ok is an error.
  'tui.lesson': (s, e) => log(s, e, e.error ? 'error' : 'info', e.text),
  'tui.open': (s, e) => ({ ...s, opened: e.entry }),
  'tui.dropped': (s, e) => log(s, e, 'error', `dropped an event from the daemon: ${e.reason}`),
  'io.error': onIoError,
  'dm.io': onIo,
  'dm.created': (s, e) => log(s, e, 'info', 'created'),
  'dm.removed': (s, e) => log(onDeviceGone(s, e), e, 'info', 'removed'),
  'dm.renamed': onRenamed,
  'dm.loaded': (s, e) => log(s, e, 'info', `table loaded (inactive): ${e.targets} targets, ${e.sizeSectors} sectors`),
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
    maps: setCells(s.maps, e.device, e.oldChunk, 1, 'pending'),
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
  'status.changed': onStatusChanged,
  'dm.warning': (s, e) => log(s, e, 'warn', e.message),
  // dm-thin: what the kernel logs, and each block provisioned (the pool and map panels are still to come).
  'thin.pool.mode': (s, e) => log(s, e, e.mode === 'write' ? 'info' : 'error', e.message),
  'thin.pool.low_water': (s, e) => log(s, e, 'warn', e.message),
  'thin.pool.metadata_error': (s, e) => log(s, e, 'error', e.message),
  'thin.pool.commit': (s) => s,
  'thin.provision': (s, e) =>
    log(
      onThinProvision(s, e),
      e,
      'info',
      `thin ${e.thinId}: block ${e.virtBlock} -> data block ${e.dataBlock} (${e.how})`,
    ),
  'thin.map': onThinMap,
  'thin.pool.message': (s, e) => log(onThinPoolMessage(s, e), e, 'info', `message: ${e.args.join(' ')}`),
  'nbd.export': onExport,
  'nbd.client': onNbdClient,
};
