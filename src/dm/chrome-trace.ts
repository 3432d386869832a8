// Chrome trace: the bus's events written in the Trace Event Format that Perfetto UI (ui.perfetto.dev) and
// chrome://tracing load (`--trace FILE.json`, or `--trace-format chrome`). The kernel's twin is a trace-cmd /
// ftrace capture viewed in KernelShark; dm-kcopyd.c has no tracepoints, so the tracks here are built from
// kcopyd's own events:
// - one process per kcopyd client ("kcopyd client N (owner)"): a slice per job from dispatch to its callback,
//   and inside it (or inside a sub-job's slice, for a split job) the time waiting for pages, the read and the
//   write; jobs and sub-jobs overlap, so they are nestable async slices (one track each under the client);
//   its pages (reserve free, shared held) as a counter;
// - one process "devices" with a thread per mapped device: a zero-length slice per completed bio, and instant
//   events for its dm events (create, load, suspend, resume, dm event, target events) and I/O errors.

import { createWriteStream, type WriteStream } from 'node:fs';
import type { DmEvent, EventBus } from '../base/events.js';

/** One record of the Trace Event Format (the fields this writer uses). */
export interface ChromeTraceEvent {
  name: string;
  ph: 'M' | 'b' | 'e' | 'X' | 'i' | 'C';
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  cat?: string;
  id?: string;
  s?: 't' | 'p' | 'g';
  args?: Record<string, unknown>;
}

const DEVICES_PID = 1;
/** Client N is process CLIENT_PID_BASE + N. */
const CLIENT_PID_BASE = 100;

/** Turns events into trace records; keeps just enough state to open and close each slice once. */
export class ChromeTraceBuilder {
  private readonly deviceTids = new Map<string, number>();
  private readonly namedClients = new Set<number>();
  /** Open slices by async id: what closes them. */
  private readonly open = new Map<string, string[]>();

  constructor(private readonly out: (e: ChromeTraceEvent) => void) {
    out({ name: 'process_name', ph: 'M', pid: DEVICES_PID, tid: 0, args: { name: 'devices' } });
  }

  add(e: DmEvent): void {
    const ts = e.time * 1000;
    switch (e.type) {
      case 'kcopyd.client':
        this.client(e.client, e.owner);
        return;
      case 'kcopyd.pool':
        this.client(e.client, e.owner);
        this.out({
          name: 'pages',
          ph: 'C',
          pid: CLIENT_PID_BASE + e.client,
          tid: 0,
          ts,
          args: { reserveFree: e.reserveFree, reserveUsed: e.reserveTotal - e.reserveFree, shared: e.sharedUsed },
        });
        return;
      case 'kcopyd.job':
        this.job(e, ts);
        return;
      case 'kcopyd.io-error':
        this.instant(CLIENT_PID_BASE + e.client, 0, ts, `${e.op} error`, 'error', { ...fieldsOf(e) });
        return;
      case 'dm.io':
        this.out({
          name: e.op,
          ph: 'X',
          pid: DEVICES_PID,
          tid: this.device(e.device),
          ts,
          dur: 0,
          cat: 'bio',
          args: { sector: e.sector, count: e.count },
        });
        return;
      case 'io.error':
        this.instant(DEVICES_PID, this.device(e.device), ts, `${e.op} error`, 'error', fieldsOf(e));
        return;
    }
    // Everything else that names a device (dm.*, snapshot.*, mirror.*, thin.*, nbd.*) is an instant on its track.
    if ('device' in e && typeof e.device === 'string' && !e.type.startsWith('kcopyd.')) {
      this.instant(DEVICES_PID, this.device(e.device), ts, e.type, e.type.split('.')[0]!, fieldsOf(e));
    }
  }

  private job(e: Extract<DmEvent, { type: 'kcopyd.job' }>, ts: number): void {
    if (e.kind === 'callback') return;
    const pid = CLIENT_PID_BASE + e.client;
    this.client(e.client, e.owner);
    const id = `job-${e.job}`;
    const sub = e.master !== e.job;
    const begin = (name: string, args?: Record<string, unknown>): void => {
      this.out({ name, ph: 'b', pid, tid: 0, ts, cat: 'kcopyd', id, ...(args ? { args } : {}) });
      this.open.set(id, [...(this.open.get(id) ?? []), name]);
    };
    const end = (name: string, args?: Record<string, unknown>): void => {
      const stack = this.open.get(id);
      if (stack?.at(-1) !== name) return;
      stack.pop();
      this.out({ name, ph: 'e', pid, tid: 0, ts, cat: 'kcopyd', id, ...(args ? { args } : {}) });
    };
    const masterId = `job-${e.master}`;
    if (sub && !this.open.has(masterId)) {
      // split_job queues no event for the master itself: its slice starts with its first chunk.
      this.out({
        name: `job ${e.master}`,
        ph: 'b',
        pid,
        tid: 0,
        ts,
        cat: 'kcopyd',
        id: masterId,
        args: { split: true },
      });
      this.open.set(masterId, [`job ${e.master}`]);
    }
    switch (e.phase) {
      case 'queued':
        if (!this.open.has(id)) {
          begin(sub ? `sub-job ${e.job} of job ${e.master}` : `job ${e.job}`, {
            kind: e.kind,
            source: e.source ? regionText(e.source) : 'zero',
            dests: e.dests.map(regionText),
            sectors: e.count,
            ...(sub ? { master: e.master, offset: e.offset } : {}),
          });
        }
        return;
      case 'pages-wait':
        begin('waiting for pages');
        return;
      case 'pages-taken':
        end('waiting for pages');
        return;
      case 'read-issued':
        begin('read');
        return;
      case 'read-done':
        end('read', { readErr: e.readErr });
        return;
      case 'write-issued':
        begin('write');
        return;
      case 'write-done':
        end('write', { writeErr: e.writeErr });
        return;
      case 'complete': {
        const name = this.open.get(id)?.[0];
        if (name !== undefined) end(name, { readErr: e.readErr, writeErr: e.writeErr });
        this.open.delete(id);
        return;
      }
      default:
        return;
    }
  }

  private client(client: number, owner: string): void {
    if (this.namedClients.has(client)) return;
    this.namedClients.add(client);
    const pid = CLIENT_PID_BASE + client;
    this.out({ name: 'process_name', ph: 'M', pid, tid: 0, args: { name: `kcopyd client ${client} (${owner})` } });
    this.out({ name: 'process_sort_index', ph: 'M', pid, tid: 0, args: { sort_index: pid } });
  }

  private device(name: string): number {
    let tid = this.deviceTids.get(name);
    if (tid === undefined) {
      tid = this.deviceTids.size + 1;
      this.deviceTids.set(name, tid);
      this.out({ name: 'thread_name', ph: 'M', pid: DEVICES_PID, tid, args: { name } });
    }
    return tid;
  }

  private instant(
    pid: number,
    tid: number,
    ts: number,
    name: string,
    cat: string,
    args: Record<string, unknown>,
  ): void {
    this.out({ name, ph: 'i', s: 't', pid, tid, ts, cat, args });
  }
}

function regionText(r: { device: string; sector: number; count: number }): string {
  return `${r.device}:${r.sector}+${r.count}`;
}

/** An event's own fields (not its type, sequence number and time), as the instant's arguments. */
function fieldsOf(e: DmEvent): Record<string, unknown> {
  const { type: _type, time: _time, ...rest } = e;
  return rest;
}

/** Writes a Chrome trace of every event on a bus to a file, as one JSON object, closed properly by close(). */
export class ChromeTraceFile {
  private readonly file: WriteStream;
  private readonly unsubscribe: () => void;
  private first = true;

  constructor(bus: EventBus, path: string) {
    this.file = createWriteStream(path, { flags: 'w' });
    this.file.write('{"displayTimeUnit":"ms","traceEvents":[\n');
    const builder = new ChromeTraceBuilder((e) => {
      this.file.write(`${this.first ? '' : ',\n'}${JSON.stringify(e)}`);
      this.first = false;
    });
    this.unsubscribe = bus.on((e) => builder.add(e));
  }

  async close(): Promise<void> {
    this.unsubscribe();
    this.file.write('\n]}\n');
    await new Promise<void>((resolve, reject) =>
      this.file.end((err?: Error | null) => (err ? reject(err) : resolve())),
    );
  }
}
