// ScenarioPlayer: plays a validated scenario one step at a time. `next()` runs the next step and resolves to
// its outcome (ok or not, why, what it saw, the step's narration); the headless runner loops over it and
// prints TAP, the TUI calls it on `n` and single-steps the kcopyd engine (`player.kcopyd`) while a step runs.
// Images are sparse files in a private temporary directory, removed by close().

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DeviceMapper } from '../../targets/device-mapper.js';
import { DmError, InvalidArgumentError } from '../base/errors.js';
import { EventBus } from '../base/events.js';
import type { BlockDevice } from '../block/block-device.js';
import { FileDevice } from '../block/file-device.js';
import { makeImage } from '../block/image.js';
import { ControlClient } from '../control/client.js';
import type { TableLine } from '../control/protocol.js';
import { tableText } from '../dm/table-line.js';
import { KcopydEngine } from '../kcopyd/engine.js';
import type { IoRegion, KcopydResult } from '../kcopyd/types.js';
import { DaemonBackend } from './daemon-backend.js';
import { checkData, patternData } from './data-pattern.js';
import { EmbeddedBackend } from './embedded-backend.js';
import type { ScenarioBackend } from './scenario-backend.js';
import { type CopyRegion, type IoTarget, type Scenario, ScenarioError, type Step } from './schema.js';
import { describeStep } from './step-title.js';
import { checkCondition, conditionText } from './wait-condition.js';

export interface StepOutcome {
  /** 1-based step number. */
  number: number;
  kind: Step['do'];
  /** A short description of what the step did, e.g. "write 0xab to device origin sectors 0+8". */
  title: string;
  say?: string;
  ok: boolean;
  /** Why the step is not ok. */
  reason?: string;
  /** What the step saw (a status line, the copy's error bits, the data read). */
  detail?: string;
  /** The step was an action that failed unexpectedly: what follows depends on it, so playing stops. */
  bail: boolean;
}

export interface PlayerOptions {
  /** Play against the daemon at this control socket instead of an embedded device-mapper. */
  socket?: string;
  /**
   * With socket: what a restart step does, the caller owning the daemon's process (stop it, start it again on
   * the same socket). Without it a scenario with a restart step cannot be played against a daemon.
   */
  restartDaemon?: () => Promise<void>;
  /**
   * How long one step may take before it is reported stuck and playing stops (default 60 s; 0 = no limit,
   * what a TUI that pauses kcopyd inside a step wants).
   */
  stepLimitMs?: number;
  /** Embedded: the bus and kcopyd engine to use (default: new ones, kcopyd running freely). */
  bus?: EventBus;
  kcopyd?: KcopydEngine;
}

/** A check that did not hold (the step ran; its result was not what the scenario expected). */
class CheckFailed extends Error {}

/** A step still running when its time limit came. */
class StepStuck extends Error {}

/** How long one step may run (wait steps have their own, shorter, timeout). */
const DEFAULT_STEP_LIMIT_MS = 60_000;

/** How often a wait step looks at the status (ms). */
const POLL_MS = 2;

export class ScenarioPlayer {
  private index = 0;
  private workDir: string | null = null;
  private readonly failed = new Map<string, string>();
  private readonly ownsKcopyd: boolean;
  private readonly stepLimitMs: number;
  /** A step hit its limit: its work may still hold devices, so close() does not wait for them forever. */
  private stuck = false;

  private constructor(
    readonly scenario: Scenario,
    readonly backend: ScenarioBackend,
    /** The engine that runs every kcopyd job of the scenario: pause it and step() it to watch a step copy. */
    readonly kcopyd: KcopydEngine,
    ownsKcopyd: boolean,
    stepLimitMs = DEFAULT_STEP_LIMIT_MS,
  ) {
    this.ownsKcopyd = ownsKcopyd;
    this.stepLimitMs = stepLimitMs;
  }

  /** A player over an embedded device-mapper (synchronous, so a TUI can build it inside its engine factory). */
  static embedded(scenario: Scenario, options: Omit<PlayerOptions, 'socket'> = {}): ScenarioPlayer {
    const bus = options.bus ?? options.kcopyd?.bus ?? new EventBus();
    const kcopyd = options.kcopyd ?? new KcopydEngine({ bus, ...engineSettings(scenario) });
    return new ScenarioPlayer(
      scenario,
      new EmbeddedBackend(bus, kcopyd),
      kcopyd,
      options.kcopyd === undefined,
      options.stepLimitMs,
    );
  }

  /** A player against a running daemon (copies run in a kcopyd engine of this process). */
  static async attach(
    scenario: Scenario,
    socket: string,
    options: Pick<PlayerOptions, 'stepLimitMs' | 'restartDaemon'> = {},
  ): Promise<ScenarioPlayer> {
    const restart = scenario.steps.find((s) => s.do === 'restart');
    if (restart && !options.restartDaemon)
      throw new ScenarioError(
        `${scenario.source}: step ${restart.number} (restart): a daemon reached with --socket cannot be restarted by the runner; play this scenario without --socket`,
      );
    const client = await ControlClient.connect(socket);
    const kcopyd = new KcopydEngine({ bus: new EventBus(), ...engineSettings(scenario) });
    const backend = new DaemonBackend(client, kcopyd, socket, options.restartDaemon);
    return new ScenarioPlayer(scenario, backend, kcopyd, true, options.stepLimitMs);
  }

  static open(scenario: Scenario, options: PlayerOptions = {}): Promise<ScenarioPlayer> {
    return options.socket !== undefined
      ? ScenarioPlayer.attach(scenario, options.socket, options)
      : Promise.resolve(ScenarioPlayer.embedded(scenario, options));
  }

  /** Embedded: the DeviceMapper now serving the scenario (a new one after a restart step); null with a daemon. */
  get dm(): DeviceMapper | null {
    return this.backend instanceof EmbeddedBackend ? this.backend.dm : null;
  }

  /** Embedded: the dmsetup verbs of the current DeviceMapper, one object valid across restarts; null with a daemon. */
  get engine(): EmbeddedBackend['engine'] | null {
    return this.backend instanceof EmbeddedBackend ? this.backend.engine : null;
  }

  /** Embedded: calls listener with the new DeviceMapper after each restart step. */
  onRestart(listener: (dm: DeviceMapper) => void): () => void {
    return this.backend instanceof EmbeddedBackend ? this.backend.onRestart(listener) : () => undefined;
  }

  /** Index (0-based) of the step next() will run. */
  get position(): number {
    return this.index;
  }

  get done(): boolean {
    return this.index >= this.scenario.steps.length;
  }

  /** The step next() will run, or null at the end. */
  peek(): Step | null {
    return this.scenario.steps[this.index] ?? null;
  }

  /** Runs the next step. Never rejects for a step's own failure: that is an outcome with ok false. */
  async next(): Promise<StepOutcome> {
    const step = this.scenario.steps[this.index];
    if (!step)
      throw new InvalidArgumentError(
        `${this.scenario.source}: all ${this.scenario.steps.length} steps have been played`,
      );
    this.index++;
    const outcome: StepOutcome = {
      number: step.number,
      kind: step.do,
      title: describeStep(step),
      ok: true,
      bail: false,
    };
    if (step.say !== undefined) outcome.say = step.say;
    let error: unknown = null;
    try {
      const detail = await this.withinLimit(this.perform(step));
      if (detail) outcome.detail = detail;
    } catch (e) {
      error = e;
    }
    if (step.fails) {
      const want = step.fails;
      if (error === null)
        return { ...outcome, ok: false, reason: `expected it to fail with ${want.code}, but it succeeded` };
      if (!(error instanceof DmError))
        return { ...outcome, ok: false, reason: `expected ${want.code}, got: ${errorText(error)}` };
      if (error.code !== want.code)
        return { ...outcome, ok: false, reason: `expected ${want.code}, got ${error.code}: ${error.message}` };
      if (want.match && !want.match.test(error.message))
        return {
          ...outcome,
          ok: false,
          reason: `the ${error.code} message does not match /${want.match.source}/: ${error.message}`,
        };
      return { ...outcome, detail: `${error.code}: ${error.message}` };
    }
    if (error === null) return outcome;
    return { ...outcome, ok: false, reason: errorText(error), bail: !(error instanceof CheckFailed) };
  }

  /**
   * A step that never settles (I/O a target holds, as dm-mirror holds writes for dmeventd) would end the
   * process with nothing reported once the event loop is empty; the limit turns it into a failed step.
   */
  private withinLimit<T>(work: Promise<T>): Promise<T> {
    if (!(this.stepLimitMs > 0 && Number.isFinite(this.stepLimitMs))) return work;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const limit = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        this.stuck = true;
        reject(
          new StepStuck(
            `the step did not finish within ${this.stepLimitMs} ms (is I/O held, e.g. a mirror write waiting for a repair?)`,
          ),
        );
      }, this.stepLimitMs);
    });
    return Promise.race([work, limit]).finally(() => clearTimeout(timer));
  }

  /** Lets go of everything: devices the scenario left (embedded: all; daemon: the ones it made), kcopyd, images. */
  async close(): Promise<void> {
    const release = async (): Promise<void> => {
      if (this.backend.mode === 'daemon') await this.removeLeftovers();
      await this.backend.close();
      this.kcopyd.scheduler.resume(); // a paused engine would never drain
      if (this.ownsKcopyd) await this.kcopyd.destroy();
    };
    try {
      if (!this.stuck) await release();
      else await this.withinLimit(release()).catch(() => undefined);
    } finally {
      if (this.workDir) await rm(this.workDir, { recursive: true, force: true });
    }
  }

  /** Daemon mode: remove the devices this scenario created, top of each stack first. */
  private async removeLeftovers(): Promise<void> {
    const ours = new Set(this.scenario.steps.flatMap((s) => (s.do === 'create' ? [s.name] : [])));
    for (let progress = true; progress; ) {
      progress = false;
      for (const name of (await this.backend.names()).filter((n) => ours.has(n))) {
        try {
          await this.backend.remove(name, false);
          progress = true;
        } catch {
          // still held by a device above it: removed on the next round
        }
      }
    }
  }

  // biome-ignore lint/suspicious/noConfusingVoidType: most steps return what a void verb returns; a few name a result
  private async perform(step: Step): Promise<string | void> {
    const b = this.backend;
    switch (step.do) {
      case 'note':
        return;
      case 'image': {
        await makeImage(await this.imagePath(step.name), `${step.sizeSectors}s`);
        return;
      }
      case 'create':
        return b.create(step.name, await this.expand(step.table), step.readOnly);
      case 'load':
        return b.load(step.name, await this.expand(step.table));
      case 'reload':
        return this.swapTable(step.name, await this.expand(step.table));
      case 'suspend':
        return b.suspend(step.name, step.noflush);
      case 'resume':
        return b.resume(step.name);
      case 'remove':
        await b.remove(step.name, step.force);
        this.failed.delete(step.name);
        return;
      case 'message': {
        const reply = await b.message(step.name, step.sector, step.args);
        if (step.reply && !step.reply.test(reply))
          throw new CheckFailed(`the reply ${JSON.stringify(reply)} does not match /${step.reply.source}/`);
        return reply === '' ? undefined : `reply: ${reply}`;
      }
      case 'write':
        return this.withTarget(step.to, (dev) => dev.write(step.sector, patternData(step.pattern, step.count)));
      case 'read': {
        const buf = Buffer.alloc(step.count * 512);
        await this.withTarget(step.from, (dev) => dev.read(step.sector, buf));
        const wrong = checkData(buf, step.expect, step.sector);
        if (wrong) throw new CheckFailed(wrong);
        return;
      }
      case 'flush':
        return b.flush(step.name);
      case 'fail':
        return this.fail(step.name);
      case 'heal':
        return this.heal(step.name);
      case 'copy':
        return this.copy(step);
      case 'wait':
        return this.wait(step);
      case 'expect-status':
      case 'expect-table': {
        const text = tableText(step.do === 'expect-status' ? await b.status(step.name) : await b.table(step.name));
        if (!step.match.test(text))
          throw new CheckFailed(
            `${step.do === 'expect-status' ? 'status' : 'table'} of ${step.name} does not match /${step.match.source}/: ${JSON.stringify(text)}`,
          );
        return text;
      }
      case 'restart':
        await b.restart();
        return `re-created ${(await b.names()).join(', ') || 'no devices'}`;
    }
  }

  private async imagePath(name: string): Promise<string> {
    this.workDir ??= await mkdtemp(join(tmpdir(), 'dmsim-scenario-'));
    return join(this.workDir, `${name}.img`);
  }

  /** ${NAME} in a table is the path of image NAME. */
  private async expand(table: string): Promise<string> {
    let out = table;
    for (const m of new Set([...table.matchAll(/\$\{([^}]*)\}/g)].map((x) => x[1]!)))
      out = out.split(`\${${m}}`).join(await this.imagePath(m));
    return out;
  }

  private async withTarget<T>(target: IoTarget, fn: (dev: BlockDevice) => Promise<T>): Promise<T> {
    if ('device' in target) {
      const dev = await this.backend.openMapped(target.device);
      try {
        return await fn(dev);
      } finally {
        await dev.close();
      }
    }
    const dev = await FileDevice.open(await this.imagePath(target.image), { name: target.image });
    try {
      return await fn(dev);
    } finally {
      await dev.close();
    }
  }

  /** dmsetup's reload choreography: load the inactive table, suspend, resume (the resume swaps it in). */
  private async swapTable(name: string, table: string): Promise<void> {
    await this.backend.load(name, table);
    await this.backend.suspend(name, false);
    await this.backend.resume(name);
  }

  /** `fail DEV`: an error table of the same size goes live; the old table is kept for heal. */
  private async fail(name: string): Promise<string> {
    if (this.failed.has(name)) throw new InvalidArgumentError(`${name} has already failed; heal ${name} first`);
    const lines = await this.backend.table(name);
    if (lines.length === 0) throw new InvalidArgumentError(`${name} has no live table to replace`);
    const size = lines.reduce((n, l) => Math.max(n, l.start + l.length), 0);
    // Marked before the swap, so whoever looks when the error table goes live (the TUI) sees it failed.
    this.failed.set(name, tableText(lines));
    try {
      await this.swapTable(name, `0 ${size} error`);
    } catch (e) {
      this.failed.delete(name);
      throw e;
    }
    return `0 ${size} error`;
  }

  /** Whether a "fail" step put an error table under the device (and no "heal" has restored it yet). */
  isFailed(name: string): boolean {
    return this.failed.has(name);
  }

  private async heal(name: string): Promise<string> {
    const saved = this.failed.get(name);
    if (saved === undefined)
      throw new InvalidArgumentError(`${name} was not failed by a "fail" step; nothing to restore`);
    this.failed.delete(name);
    try {
      await this.swapTable(name, saved);
    } catch (e) {
      this.failed.set(name, saved);
      throw e;
    }
    return saved;
  }

  /** One client submits the step's job and its followedBy jobs back to back, then each result is checked. */
  private async copy(step: Extract<Step, { do: 'copy' }>): Promise<string> {
    const opened: BlockDevice[] = [];
    const open = async (r: CopyRegion, count: number): Promise<IoRegion> => {
      const dev =
        'device' in r.target
          ? await this.backend.openMapped(r.target.device)
          : await FileDevice.open(await this.imagePath(r.target.image), { name: r.target.image });
      opened.push(dev);
      return { bdev: dev, sector: r.sector, count: r.count ?? count };
    };
    try {
      const jobs = [step, ...step.followedBy];
      const regions: Array<{ from: IoRegion; to: IoRegion[] }> = [];
      for (const job of jobs) {
        const from = await open(job.from, job.from.count!);
        const to: IoRegion[] = [];
        for (const r of job.to) to.push(await open(r, job.from.count!));
        regions.push({ from, to });
      }
      const client = this.kcopyd.createClient({
        owner: 'scenario',
        ...(step.reservePages !== undefined ? { reservePages: step.reservePages } : {}),
      });
      let results: KcopydResult[];
      try {
        results = await Promise.all(
          jobs.map((job, i) => client.copyAsync(regions[i]!.from, regions[i]!.to, { ignoreError: job.ignoreError })),
        );
      } finally {
        await client.destroy();
      }
      const seen = results.map(errorBits);
      jobs.forEach((job, i) => {
        const want = errorBits({ readErr: job.readErr ?? false, writeErr: job.writeErr ?? 0 });
        if (seen[i] !== want)
          throw new CheckFailed(
            `${jobs.length > 1 ? `job ${i + 1}: ` : ''}the copy ended with ${seen[i]}, expected ${want}`,
          );
      });
      return seen.join('; ');
    } finally {
      for (const d of opened) await d.close();
    }
  }

  /** Polls the device until the condition holds. Time while the kcopyd engine is paused does not count. */
  private async wait(step: Extract<Step, { do: 'wait' }>): Promise<string> {
    let waited = 0;
    let last = Date.now();
    for (;;) {
      const lines: TableLine[] = await this.backend.status(step.name);
      const eventNr = step.for === 'event' ? await this.backend.eventNr(step.name) : 0;
      const state = checkCondition(step, lines, eventNr);
      if (state.done) return state.seen;
      if (state.hopeless) throw new CheckFailed(`${step.name} can no longer be ${conditionText(step)}: ${state.seen}`);
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      const now = Date.now();
      if (!this.kcopyd.scheduler.paused) waited += now - last;
      last = now;
      if (waited > step.timeoutMs)
        throw new CheckFailed(
          `${step.name} was not ${conditionText(step)} within ${step.timeoutMs} ms; last seen: ${state.seen}`,
        );
    }
  }
}

function errorBits(r: KcopydResult): string {
  return `read_err=${r.readErr ? 1 : 0} write_err=0x${(r.writeErr >>> 0).toString(16)}`;
}

/** The engine a scenario asks for (its kcopyd settings). */
function engineSettings(scenario: Scenario): { sharedPoolPages?: number } {
  return scenario.kcopyd ? { sharedPoolPages: scenario.kcopyd.sharedPages } : {};
}

function errorText(e: unknown): string {
  if (e instanceof DmError) return `${e.code}: ${e.message}`;
  return e instanceof Error ? e.message : String(e);
}
