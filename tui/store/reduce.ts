// The store's one entry point: reduce(state, event) -> state. Pure: the same stream always gives the same
// view. Engine kinds are mapped to the slice reducers here; any kind without a mapping is still logged, so
// an event added by another module shows up in the errors/events panel before the TUI learns to draw it.

import { bool, type EngineEvent, field, list, num, str } from './engine-event.js';
import { appendLog, type LogLine } from './event-log.js';
import { addBytes, advance } from './throughput.js';
import { deviceFromSnapshot, putDevice, removeDevice, setHealth, updateDevice, updateMirror, updateSnapshot } from './devices.js';
import { finishJob, newJob, putJob, removeClient, updateClient, updateJob } from './kcopyd-view.js';
import { mapForDevice, setCells, setMap } from './device-maps.js';
import type { CellState, DeviceRunState, JobStage, LogLevel, ViewState } from './view-state.js';

type Handler = (s: ViewState, e: EngineEvent) => ViewState;

const SECTOR = 512;

export function reduce(state: ViewState, e: EngineEvent): ViewState {
  const timed: ViewState = { ...state, seq: Math.max(state.seq, e.seq), now: Math.max(state.now, e.time), throughput: advance(state.throughput, e.time) };
  const handler = HANDLERS[e.type];
  return handler ? handler(timed, e) : log(timed, e, 'info', describe(e));
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
  return str(e, 'device', 'name', 'dev') ?? '';
}

/** A generic one-line description: the kind and its scalar fields. */
function describe(e: EngineEvent): string {
  const skip = new Set(['type', 'seq', 'time', 'device', 'name']);
  const parts = Object.entries(e as unknown as Record<string, unknown>)
    .filter(([k, v]) => !skip.has(k) && (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean'))
    .map(([k, v]) => `${k}=${String(v)}`);
  return [e.type, ...parts].join(' ');
}

/** A region as events carry it: a string already, or {device|bdev, sector, count}. */
function regionText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'object' && v !== null) {
    const r = v as Record<string, unknown>;
    const dev = typeof r.device === 'string' ? r.device : typeof r.bdev === 'string' ? r.bdev : typeof r.name === 'string' ? r.name : '?';
    return `${dev}:${String(r.sector ?? '?')}+${String(r.count ?? '?')}`;
  }
  return '?';
}

const STAGES: Record<string, JobStage> = {
  queued: 'queued',
  pages: 'pages',
  'waiting-pages': 'pages',
  'pages-taken': 'read',
  read: 'read',
  'read-issued': 'read',
  'read-done': 'write',
  write: 'write',
  'write-issued': 'write',
  'write-done': 'write',
  complete: 'complete',
};

// ---- handlers ---------------------------------------------------------------------------------------

function onDeviceSnapshot(s: ViewState, e: EngineEvent): ViewState {
  const name = str(e, 'name') ?? '';
  const state: DeviceRunState = str(e, 'state') === 'SUSPENDED' ? 'SUSPENDED' : 'ACTIVE';
  const view = deviceFromSnapshot({ name, table: str(e, 'table') ?? '', status: str(e, 'status') ?? '', state }, s.devices.get(name));
  const existing = s.maps.get(name);
  const fresh = mapForDevice(view);
  const keep = existing && fresh && existing.kind === fresh.kind && existing.size === fresh.size;
  return { ...s, devices: putDevice(s.devices, view), maps: keep ? s.maps : setMap(s.maps, name, fresh) };
}

function onDeviceGone(s: ViewState, e: EngineEvent): ViewState {
  const name = deviceOf(e);
  return log({ ...s, devices: removeDevice(s.devices, name), maps: setMap(s.maps, name, undefined) }, e, 'info', 'removed');
}

function onRunState(state: DeviceRunState): Handler {
  return (s, e) => {
    const name = deviceOf(e);
    return log({ ...s, devices: updateDevice(s.devices, name, (d) => ({ ...d, state })) }, e, 'info', state === 'SUSPENDED' ? 'suspended' : 'resumed');
  };
}

function onFailMark(failed: boolean): Handler {
  return (s, e) => {
    const name = deviceOf(e);
    const text = failed ? 'error table swapped in (fail)' : 'table restored (heal)';
    return log({ ...s, devices: updateDevice(s.devices, name, (d) => ({ ...d, failed })) }, e, failed ? 'warn' : 'info', text);
  };
}

function onPaused(s: ViewState, e: EngineEvent): ViewState {
  const paused = bool(e, 'paused') ?? false;
  return log({ ...s, paused }, e, 'info', paused ? 'kcopyd paused' : 'kcopyd resumed');
}

function onIoError(s: ViewState, e: EngineEvent): ViewState {
  const text = `${str(e, 'op') ?? 'io'} error at sector ${num(e, 'sector') ?? '?'}+${num(e, 'count') ?? '?'}: ${str(e, 'message') ?? str(e, 'code') ?? ''}`;
  return log(s, e, 'error', text);
}

function onIoDone(s: ViewState, e: EngineEvent): ViewState {
  const op = str(e, 'op');
  const bytes = (num(e, 'count') ?? 0) * SECTOR;
  if (op === 'read' || op === 'write') return { ...s, throughput: addBytes(s.throughput, op, bytes, e.time) };
  return s;
}

function onClient(s: ViewState, e: EngineEvent): ViewState {
  const id = num(e, 'client', 'id') ?? 0;
  const owner = str(e, 'owner') ?? '?';
  const reservePages = num(e, 'reservePages', 'reserve') ?? 0;
  const clients = updateClient(s.clients, id, { owner, reservePages, reserveFree: num(e, 'freePages', 'free') ?? reservePages }, owner);
  return log({ ...s, clients }, e, 'info', `kcopyd client ${id} (${owner}) created, ${reservePages} pages reserved`);
}

function onClientGone(s: ViewState, e: EngineEvent): ViewState {
  const id = num(e, 'client', 'id') ?? 0;
  const jobs = new Map([...s.jobs].filter(([, j]) => j.client !== id));
  return log({ ...s, clients: removeClient(s.clients, id), jobs }, e, 'info', `kcopyd client ${id} destroyed`);
}

function onPool(s: ViewState, e: EngineEvent): ViewState {
  const id = num(e, 'client');
  let next = s;
  const sharedLimit = num(e, 'sharedLimit', 'sharedPages');
  const sharedUsed = num(e, 'sharedUsedTotal', 'sharedInUse');
  if (sharedLimit !== undefined || sharedUsed !== undefined) {
    next = { ...next, shared: { limit: sharedLimit ?? s.shared.limit, used: sharedUsed ?? s.shared.used } };
  }
  if (id === undefined) return next;
  const change: Record<string, number> = {};
  const reserve = num(e, 'reservePages', 'reserve');
  const free = num(e, 'freePages', 'reserveFree', 'free');
  const used = num(e, 'sharedUsed');
  if (reserve !== undefined) change.reservePages = reserve;
  if (free !== undefined) change.reserveFree = free;
  if (used !== undefined) change.sharedUsed = used;
  return { ...next, clients: updateClient(next.clients, id, change) };
}

function onQueues(s: ViewState, e: EngineEvent): ViewState {
  const id = num(e, 'client') ?? 0;
  const c = s.clients.get(id);
  const q = c?.queues ?? { pages: 0, io: 0, complete: 0, callback: 0 };
  const queues = {
    pages: num(e, 'pages', 'pagesJobs') ?? q.pages,
    io: num(e, 'io', 'ioJobs') ?? q.io,
    complete: num(e, 'complete', 'completeJobs') ?? q.complete,
    callback: num(e, 'callback', 'callbackJobs') ?? q.callback,
  };
  return { ...s, clients: updateClient(s.clients, id, { queues }) };
}

function onJob(s: ViewState, e: EngineEvent): ViewState {
  const id = num(e, 'job', 'id') ?? 0;
  const client = num(e, 'client') ?? 0;
  const stageWord = str(e, 'stage', 'state', 'phase') ?? 'queued';
  const stage = STAGES[stageWord] ?? 'queued';
  let jobs = s.jobs;
  if (!jobs.has(id)) {
    const dests = (list(e, 'dests', 'to') ?? []).map(regionText);
    const from = field(e, 'source') ?? field(e, 'from');
    jobs = putJob(
      jobs,
      newJob({
        id,
        client,
        owner: str(e, 'owner') ?? s.clients.get(client)?.owner ?? '?',
        source: from === undefined || from === null ? 'zero' : regionText(from),
        dests,
        totalSectors: num(e, 'count', 'sectors', 'totalSectors') ?? 0,
        startedAt: e.time,
      }),
    );
  }
  if (stage === 'complete') {
    const readErr = bool(e, 'readErr', 'read_err') ?? false;
    const writeErr = num(e, 'writeErr', 'write_err') ?? 0;
    const job = jobs.get(id)!;
    const bytes = job.totalSectors * SECTOR;
    let next: ViewState = {
      ...s,
      jobs: finishJob(jobs, id, readErr, writeErr, e.time),
      clients: updateClient(s.clients, client, { jobsDone: (s.clients.get(client)?.jobsDone ?? 0) + 1 }),
      throughput: readErr || writeErr ? s.throughput : addBytes(s.throughput, 'copy', bytes - job.doneSectors * SECTOR, e.time),
    };
    const failed = readErr || writeErr !== 0;
    next = log(next, e, failed ? 'error' : 'info', `job ${id} (${job.owner}) ${failed ? 'failed' : 'done'} read_err=${readErr ? 1 : 0} write_err=0x${(writeErr >>> 0).toString(16)}`);
    return next;
  }
  const subDone = num(e, 'subDone', 'subJobsDone');
  const subInFlight = num(e, 'subInFlight', 'inFlight', 'subJobsInFlight');
  const doneSectors = num(e, 'doneSectors', 'progress');
  jobs = updateJob(jobs, id, (j) => ({
    stage,
    ...(subDone !== undefined ? { subDone } : {}),
    ...(subInFlight !== undefined ? { subInFlight } : {}),
    ...(doneSectors !== undefined ? { doneSectors } : {}),
    readErr: j.readErr || (bool(e, 'readErr', 'read_err') ?? false),
    writeErr: j.writeErr | (num(e, 'writeErr', 'write_err') ?? 0),
  }));
  const gained = doneSectors !== undefined ? Math.max(0, doneSectors - (s.jobs.get(id)?.doneSectors ?? 0)) : 0;
  return { ...s, jobs, throughput: gained > 0 ? addBytes(s.throughput, 'copy', gained * SECTOR, e.time) : s.throughput };
}

function onSnapshotException(s: ViewState, e: EngineEvent): ViewState {
  const name = deviceOf(e);
  const chunk = num(e, 'chunk', 'oldChunk', 'old_chunk') ?? 0;
  const pending = str(e, 'state', 'stage') === 'pending' || bool(e, 'pending') === true;
  const allocated = num(e, 'allocated');
  const devices = allocated !== undefined ? updateSnapshot(s.devices, name, { allocated }) : s.devices;
  return { ...s, devices, maps: setCells(s.maps, name, chunk, 1, pending ? 'pending' : 'remapped') };
}

function onSnapshotFlag(flag: 'invalid' | 'overflow' | 'mergeFailed', text: string): Handler {
  return (s, e) => log({ ...s, devices: updateSnapshot(s.devices, deviceOf(e), { [flag]: true }) }, e, 'error', text);
}

function onMerge(s: ViewState, e: EngineEvent): ViewState {
  const name = deviceOf(e);
  const chunk = num(e, 'chunk', 'oldChunk');
  const count = num(e, 'count', 'chunks') ?? 1;
  const done = bool(e, 'done', 'complete') ?? str(e, 'stage') === 'done';
  let next: ViewState = { ...s, devices: updateSnapshot(s.devices, name, { merging: !done }) };
  if (chunk !== undefined) next = { ...next, maps: setCells(next.maps, name, chunk, count, done ? 'unmapped' : 'merging') };
  const allocated = num(e, 'allocated');
  if (allocated !== undefined) next = { ...next, devices: updateSnapshot(next.devices, name, { allocated }) };
  return done ? log(next, e, 'info', 'merge complete') : next;
}

const REGION_STATES: Record<string, CellState> = {
  clean: 'clean',
  CLEAN: 'clean',
  dirty: 'dirty',
  DIRTY: 'dirty',
  nosync: 'nosync',
  NOSYNC: 'nosync',
  recovering: 'recovering',
  RECOVERING: 'recovering',
};

function onRegion(s: ViewState, e: EngineEvent): ViewState {
  const name = deviceOf(e);
  const region = num(e, 'region') ?? 0;
  const state = REGION_STATES[str(e, 'state') ?? ''] ?? 'dirty';
  return { ...s, maps: setCells(s.maps, name, region, num(e, 'count') ?? 1, state) };
}

function onSync(s: ViewState, e: EngineEvent): ViewState {
  const name = deviceOf(e);
  const inSync = num(e, 'inSync', 'syncCount', 'insync');
  const regions = num(e, 'regions', 'nrRegions');
  const region = num(e, 'region');
  let next: ViewState = {
    ...s,
    devices: updateMirror(s.devices, name, (m) => ({ inSync: inSync ?? m.inSync, regions: regions ?? m.regions })),
  };
  if (region !== undefined) {
    const ok = bool(e, 'ok', 'success') ?? true;
    next = { ...next, maps: setCells(next.maps, name, region, 1, ok ? 'clean' : 'nosync') };
  }
  const d = next.devices.get(name);
  if (d?.mirror && d.mirror.regions > 0 && d.mirror.inSync === d.mirror.regions && (s.devices.get(name)?.mirror?.inSync ?? 0) < d.mirror.regions) {
    next = log(next, e, 'info', 'mirror in sync');
  }
  return next;
}

function onLeg(s: ViewState, e: EngineEvent): ViewState {
  const name = deviceOf(e);
  const leg = num(e, 'leg', 'mirror') ?? 0;
  const letter = str(e, 'health', 'letter') ?? 'D';
  const devices = updateMirror(s.devices, name, (m) => ({ health: setHealth(m.health, leg, letter) }));
  return log({ ...s, devices }, e, letter === 'A' ? 'info' : 'error', `leg ${leg} ${str(e, 'leg_device', 'legDevice') ?? ''} health ${letter}`.replace(/\s+/g, ' '));
}

function onPrimary(s: ViewState, e: EngineEvent): ViewState {
  const name = deviceOf(e);
  const primary = num(e, 'primary', 'leg', 'to') ?? 0;
  return log({ ...s, devices: updateMirror(s.devices, name, () => ({ primary })) }, e, 'warn', `primary leg is now ${primary}`);
}

const HANDLERS: Record<string, Handler> = {
  'tui.device': onDeviceSnapshot,
  'tui.device-gone': onDeviceGone,
  'tui.failed': onFailMark(true),
  'tui.healed': onFailMark(false),
  'tui.paused': onPaused,
  'tui.tick': (s) => s,
  'io.error': onIoError,
  'io.done': onIoDone,
  'dm.remove': onDeviceGone,
  'dm.suspend': onRunState('SUSPENDED'),
  'dm.resume': onRunState('ACTIVE'),
  'kcopyd.client': onClient,
  'kcopyd.client.destroy': onClientGone,
  'kcopyd.pool': onPool,
  'kcopyd.queues': onQueues,
  'kcopyd.job': onJob,
  'snapshot.exception': onSnapshotException,
  'snapshot.invalid': onSnapshotFlag('invalid', 'snapshot invalidated'),
  'snapshot.overflow': onSnapshotFlag('overflow', 'snapshot overflow'),
  'snapshot.merge-failed': onSnapshotFlag('mergeFailed', 'merge failed'),
  'snapshot.merge': onMerge,
  'mirror.region': onRegion,
  'mirror.sync': onSync,
  'mirror.leg': onLeg,
  'mirror.primary': onPrimary,
};
