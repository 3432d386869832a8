// LessonDriver: `dmsim tui --scenario FILE` — plays a lesson (a scenario file, src/scenario/) inside the TUI.
// The scenario's device-mapper is the TUI's embedded engine (same bus, same kcopyd engine), so every panel
// shows what each step does. `n` plays the next step; `s` pauses kcopyd, starts the next step and then runs
// one kcopyd worker pass per press, so a copy can be watched sub-job by sub-job. The narration (step number,
// title, `say`, then ok / not ok and why) is a small store of its own that the narration panel subscribes to.

import { InvalidArgumentError } from '../src/base/errors.js';
import { type Scenario, ScenarioPlayer, type StepOutcome } from '../src/scenario/index.js';
import { describeStep } from '../src/scenario/step-title.js';
import { TuiController } from './controller.js';
import { startEmbedded } from './session.js';
import type { ViewStore } from './store/store.js';

/** The step the narration shows: the one running, or the one played last, or (before any) the first. */
interface NarratedStep {
  number: number;
  title: string;
  say?: string;
}

export interface LessonView {
  /** The scenario's title. */
  title: string;
  total: number;
  /** Steps played to the end. */
  played: number;
  notOk: number;
  step: NarratedStep | null;
  /** The shown step is running (its outcome is not known yet). */
  running: boolean;
  /** The shown step's outcome, once it has one. */
  outcome: StepOutcome | null;
  /** Set when no step is left to play: every step was played, or one bailed out. */
  ended: 'done' | 'stopped' | null;
}

/** What the App asks of scenario mode: the narration to draw, and the n and s keys. */
export interface LessonActions {
  subscribe(listener: () => void): () => void;
  getSnapshot(): LessonView;
  /** `n`: starts the next step (its outcome comes later, in the view); returns the line to show. */
  next(): string;
  /** `s`: pauses kcopyd and starts the next step, or runs one kcopyd worker pass inside the running one. */
  step(): string;
}

/** The part of the TUI controller the lesson uses (pausing and stepping the shared kcopyd engine). */
type Kcopyd = Pick<TuiController, 'paused' | 'pause' | 'step'>;

const narrated = (s: { number: number; say?: string }, title: string): NarratedStep => ({
  number: s.number,
  title,
  ...(s.say !== undefined ? { say: s.say } : {}),
});

export class LessonDriver implements LessonActions {
  private view: LessonView;
  private readonly listeners = new Set<() => void>();
  private playing: Promise<void> | null = null;

  constructor(
    readonly player: ScenarioPlayer,
    private readonly kcopyd: Kcopyd,
    /** Where each step's outcome is also written (the events panel), so the lesson leaves a history. */
    private readonly log: (text: string, error: boolean) => void = () => undefined,
  ) {
    const first = player.peek();
    const s = player.scenario;
    this.view = {
      title: s.title,
      total: s.steps.length,
      played: 0,
      notOk: 0,
      step: first ? narrated(first, describeStep(first)) : null,
      running: false,
      outcome: null,
      ended: first ? null : 'done',
    };
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getSnapshot = (): LessonView => this.view;

  /** Settles when the step now running has its outcome (at once when none runs). */
  settled(): Promise<void> {
    return this.playing ?? Promise.resolve();
  }

  next(): string {
    this.refuseWhenBusy();
    const n = this.start();
    return `step ${n}/${this.view.total} started${this.kcopyd.paused ? ' (kcopyd is paused: s runs one worker pass, p resumes)' : ''}`;
  }

  step(): string {
    if (this.playing) {
      if (this.kcopyd.paused) return this.kcopyd.step();
      this.kcopyd.pause();
      return `kcopyd paused inside step ${this.view.step?.number}: s runs one worker pass, p resumes`;
    }
    this.refuseWhenBusy();
    const v = this.view;
    if (this.kcopyd.paused && v.step && v.outcome) {
      // Stepping kcopyd ran the step to its end: one press too many must not play the next step unseen.
      return `step ${v.step.number}/${v.total} is finished (${v.outcome.ok ? 'ok' : 'not ok'}): n plays the next step with kcopyd still paused, p resumes kcopyd`;
    }
    if (!this.kcopyd.paused) this.kcopyd.pause();
    const n = this.start();
    return `step ${n}/${this.view.total} started with kcopyd paused: s runs one worker pass, p resumes`;
  }

  private refuseWhenBusy(): void {
    const v = this.view;
    if (v.ended)
      throw new InvalidArgumentError(`the lesson is over (${this.summary()}): q quits; the command line still works`);
    if (this.playing) {
      throw new InvalidArgumentError(
        `step ${v.step?.number} is still running${this.kcopyd.paused ? ': kcopyd is paused, s runs one worker pass, p resumes' : ''}`,
      );
    }
  }

  /** Starts the next step without waiting for it; its outcome updates the narration when it comes. */
  private start(): number {
    const step = this.player.peek();
    if (!step) throw new InvalidArgumentError(`the lesson is over (${this.summary()})`);
    this.update({ step: narrated(step, describeStep(step)), running: true, outcome: null });
    this.playing = this.player
      .next()
      .catch(
        (e: unknown): StepOutcome => ({
          number: step.number,
          kind: step.do,
          title: describeStep(step),
          ok: false,
          reason: e instanceof Error ? e.message : String(e),
          bail: true,
        }),
      )
      .then((outcome) => {
        this.playing = null;
        const played = this.view.played + 1;
        const ended = outcome.bail ? 'stopped' : this.player.done ? 'done' : null;
        this.update({ played, notOk: this.view.notOk + (outcome.ok ? 0 : 1), running: false, outcome, ended });
        this.log(
          `lesson step ${outcome.number}/${this.view.total} ${outcome.ok ? 'ok' : `not ok: ${outcome.reason}`}: ${outcome.title}`,
          !outcome.ok,
        );
        if (ended) this.log(`lesson ${ended === 'done' ? 'over' : 'stopped'}: ${this.summary()}`, ended === 'stopped');
      });
    return step.number;
  }

  /** "24/24 steps played, all ok" or "5/24 steps played, 1 not ok". */
  summary(): string {
    const v = this.view;
    return `${v.played}/${v.total} steps played, ${v.notOk === 0 ? 'all ok' : `${v.notOk} not ok`}`;
  }

  private update(change: Partial<LessonView>): void {
    this.view = { ...this.view, ...change };
    for (const l of this.listeners) l();
  }

  /** Lets the running step finish (briefly: it may hold I/O forever) and removes the lesson's images. */
  async close(): Promise<void> {
    const running = this.playing;
    if (running) {
      let cancel: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([running, new Promise<void>((resolve) => (cancel = setTimeout(resolve, 1000)))]);
      clearTimeout(cancel);
    }
    await this.player.close();
  }
}

export interface LessonSession {
  scenario: Scenario;
  controller: TuiController;
  lesson: LessonDriver;
}

/**
 * Starts the embedded engine with the scenario's device-mapper as its engine (a scenario from loadScenario),
 * and wires the lesson to the controller (q closes the player: devices, then the temporary images).
 */
export async function startLesson(
  scenario: Scenario,
  store: ViewStore,
  options: { version?: string } = {},
): Promise<LessonSession> {
  let player: ScenarioPlayer | undefined;
  const session = await startEmbedded({
    ...(options.version !== undefined ? { version: options.version } : {}),
    ...(scenario.kcopyd ? { sharedPoolPages: scenario.kcopyd.sharedPages } : {}),
    // stepLimitMs 0: a step paused by `s` may take as long as the person at the keys likes.
    makeEngine: (bus, kcopyd) => {
      player = ScenarioPlayer.embedded(scenario, { bus, kcopyd, stepLimitMs: 0 });
      const engine = player.engine!;
      // The player's verbs follow its current DeviceMapper across restarts; openBlock is their BlockDevice open.
      return { ...engine, open: (name: string) => engine.openBlock(name) };
    },
  });
  const controller = new TuiController(session, store, 'lesson', (name) => player!.isFailed(name));
  const lesson = new LessonDriver(player!, controller, (text, error) => store.note('tui.lesson', { text, error }));
  controller.onQuit(() => lesson.close());
  // A restart step needs nothing more: the old devices' dm.removed and the new ones' dm.created events
  // reach the controller like any others, and it re-reads each device.
  try {
    await controller.start();
  } catch (e) {
    await controller.quit();
    throw e;
  }
  return { scenario, controller, lesson };
}
