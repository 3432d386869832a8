// TuiController: the glue between the screen and the engine. Feeds the store with the engine's events and
// with snapshots of devices (their table and status lines, taken through the verbs at start and whenever a
// device changed, its NBD export included), runs command lines, pauses and steps kcopyd, and quits cleanly.

import { InvalidArgumentError, isDmError } from '../src/base/errors.js';
import { ControlClient } from '../src/control/client.js';
import { waitFor } from '../src/control/wait-for.js';
import type { InspectedTarget } from '../src/dm/device-mapper-core.js';
import type { DeviceState, WaitCondition } from '../targets/wait-condition.js';
import { parseCommand } from './command/parse-command.js';
import { type CommandContext, runCommand } from './command/run-command.js';
import type { TuiSession } from './session.js';
import type { EngineEvent } from './store/engine-event.js';
import { findEntry } from './store/event-log.js';
import type { ViewStore } from './store/store.js';

/** Event kinds after which a device's table, status lines or export may have changed. */
const DEVICE_CHANGES =
  /^(dm\.(created|loaded|table_swapped|suspended|resumed|removed|event)|nbd\.(export|client)|thin\.pool\.(message|mode))$/;

export class TuiController {
  private readonly failed = new Map<string, string>();
  private unsubscribe: (() => void) | null = null;
  private ticker: ReturnType<typeof setInterval> | null = null;
  private readonly refreshing = new Map<string, Promise<void>>();
  private readonly cleanups: Array<() => Promise<void>> = [];
  private quitting: Promise<void> | null = null;
  private resolveDone!: () => void;
  /** Settles once quit() has closed everything. */
  readonly done: Promise<void> = new Promise((resolve) => (this.resolveDone = resolve));

  constructor(
    readonly session: TuiSession,
    readonly store: ViewStore,
    /** Shown in the header: embedded, demo, attached to SOCKET. */
    readonly modeName: string = session.mode,
    /** Devices failed by someone else than the `fail` command (a lesson's fail step): shown FAILED too. */
    private readonly failedElsewhere: (name: string) => boolean = () => false,
  ) {}

  get canPause(): boolean {
    return this.session.kcopyd !== null;
  }

  get paused(): boolean {
    return this.session.kcopyd?.scheduler.paused ?? false;
  }

  /** Subscribes to events and takes the first snapshot of every device. */
  async start(): Promise<void> {
    this.unsubscribe = this.session.subscribe((e) => this.onEvent(e));
    // Rates must fall to zero when the engine goes quiet: a tick closes the throughput buckets.
    this.ticker = setInterval(() => this.store.note('tui.tick', {}), 1000);
    this.ticker.unref();
    const names = (await this.session.client.request('ls', {})).map((d) => d.name);
    for (const name of names) await this.refresh(name);
  }

  /** Something to do on quit after the session is closed (e.g. removing the demo's temporary files). */
  onQuit(cleanup: () => Promise<void>): void {
    this.cleanups.push(cleanup);
  }

  private onEvent(e: EngineEvent): void {
    this.store.dispatch(e);
    if (DEVICE_CHANGES.test(e.type) && 'device' in e) void this.refresh(e.device);
  }

  /** Re-reads one device's table, status and state into the store; a device that is gone leaves it. */
  refresh(name: string): Promise<void> {
    const running = this.refreshing.get(name);
    if (running) return running.then(() => this.refresh(name));
    const p = this.snapshot(name).finally(() => this.refreshing.delete(name));
    this.refreshing.set(name, p);
    return p;
  }

  private async snapshot(name: string): Promise<void> {
    const c = this.session.client;
    try {
      const [info] = await c.request('info', { name });
      const table = await c.request('table', { name });
      const status = await c.request('status', { name });
      // Last, so the export's client count is as fresh as the snapshot can make it.
      const exp = (await c.request('ls', {})).find((d) => d.name === name)?.export;
      const text = (lines: typeof table) =>
        lines.map((l) => `${l.start} ${l.length} ${l.target} ${l.params}`).join('\n');
      this.store.note('tui.device', {
        name,
        table: text(table),
        status: text(status),
        state: info?.state ?? 'ACTIVE',
        failed: this.failed.has(name) || this.failedElsewhere(name),
        ...(exp ? { export: exp } : {}),
      });
    } catch (e) {
      if (isDmError(e) && (e.code === 'ENXIO' || e.code === 'ENODEV' || e.code === 'ENOENT'))
        this.store.note('tui.device-gone', { device: name });
      else if (!this.quitting) throw e;
    }
  }

  /** Runs one command line; resolves to its output, rejects with the reason it was refused. */
  async run(line: string): Promise<string> {
    return runCommand(parseCommand(line), this.context());
  }

  pause(): string {
    const k = this.requireKcopyd('pause');
    if (k.scheduler.paused) return 'kcopyd is already paused (s steps one worker pass, p resumes)';
    k.scheduler.pause();
    this.store.note('tui.paused', { paused: true });
    return 'kcopyd paused: s steps one worker pass, p resumes';
  }

  unpause(): string {
    const k = this.requireKcopyd('resume');
    if (!k.scheduler.paused) return 'kcopyd is running';
    k.scheduler.resume();
    this.store.note('tui.paused', { paused: false });
    return 'kcopyd running';
  }

  /** The inspector's view of a device (`dmsim inspect NAME`). */
  inspect(name: string): Promise<InspectedTarget[]> {
    return this.session.client.request('inspect', { name });
  }

  togglePause(): string {
    return this.paused ? this.unpause() : this.pause();
  }

  step(): string {
    const k = this.requireKcopyd('step');
    if (!k.scheduler.paused) return 'kcopyd is running: press p to pause it, then s to step';
    const worker = k.scheduler.pending[0];
    if (!k.scheduler.step()) return 'nothing to step: no kcopyd worker has a pass pending';
    this.store.flush();
    return `ran one worker pass of client ${worker?.id} (${worker?.owner}); ${k.scheduler.pending.length} pending`;
  }

  /** `show N`: opens event-log entry N in full (the screen draws it until a key is pressed). */
  show(n: number): string {
    this.store.flush();
    const log = this.store.getSnapshot().log;
    if (!findEntry(log, n)) {
      const first = log.entries.at(-1)?.n;
      throw new InvalidArgumentError(
        first === undefined
          ? `no event ${n}: the events list is empty`
          : `no event ${n}: the list holds events ${first} to ${log.numbered} (older ones were folded out)`,
      );
    }
    this.store.note('tui.open', { entry: n });
    this.store.flush();
    return `event ${n} opened: any key closes it`;
  }

  /** Closes the session (devices, sockets) and runs the cleanups; safe to call more than once. */
  quit(): Promise<void> {
    if (!this.quitting) {
      this.quitting = (async () => {
        this.unsubscribe?.();
        if (this.ticker) clearInterval(this.ticker);
        try {
          await this.session.close();
        } finally {
          for (const c of this.cleanups) await c();
          this.resolveDone();
        }
      })();
    }
    return this.quitting;
  }

  private requireKcopyd(what: string) {
    const k = this.session.kcopyd;
    if (!k)
      throw new InvalidArgumentError(
        `${what}: the daemon's kcopyd runs in another process; pause and step need the embedded engine (dmsim tui without --attach)`,
      );
    return k;
  }

  /** `wait --for` on a connection of its own (it follows the daemon's events until the condition holds). */
  private async waitFor(name: string, condition: WaitCondition, timeoutMs?: number): Promise<DeviceState> {
    const client = await ControlClient.connect(this.session.client.socketPath);
    try {
      return await waitFor(client, name, condition, timeoutMs === undefined ? {} : { timeoutMs });
    } finally {
      client.close();
    }
  }

  private context(): CommandContext {
    return {
      client: this.session.client,
      kcopyd: this.session.kcopyd,
      openMapped: this.session.openMapped,
      failed: this.failed,
      waitFor: (name, condition, timeoutMs) => this.waitFor(name, condition, timeoutMs),
      refresh: (name) => this.refresh(name),
      pause: () => this.pause(),
      unpause: () => this.unpause(),
      step: () => this.step(),
      show: (n) => this.show(n),
      quit: () => this.quit(),
    };
  }
}
