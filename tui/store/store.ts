// ViewStore: holds the ViewState, applies events as they come (none is dropped or coalesced), and publishes
// the state to subscribers at most `maxFps` times a second, so a burst of thousands of events costs one frame.

import type { EngineEvent, TuiEvent, TuiEventMap, TuiEventType } from './engine-event.js';
import { reduce } from './reduce.js';
import { initialState, type ViewState } from './view-state.js';

export interface FrameTimer {
  /** Runs fn once after ms; returns a cancel function. */
  setTimer(ms: number, fn: () => void): () => void;
}

export const realTimer: FrameTimer = {
  setTimer(ms, fn) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return () => clearTimeout(t);
  },
};

export class ViewStore {
  private state: ViewState;
  private published: ViewState;
  private readonly listeners = new Set<() => void>();
  private cancelFrame: (() => void) | undefined;
  private readonly frameMs: number;
  private readonly timer: FrameTimer;

  constructor(options: { state?: ViewState; maxFps?: number; timer?: FrameTimer } = {}) {
    this.state = options.state ?? initialState(Date.now());
    this.published = this.state;
    this.frameMs = 1000 / (options.maxFps ?? 10);
    this.timer = options.timer ?? realTimer;
  }

  /** The state as last published (what the screen shows). */
  getSnapshot = (): ViewState => this.published;

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  dispatch(event: EngineEvent): void {
    this.state = reduce(this.state, event);
    this.schedule();
  }

  /** A TUI-side action (device snapshot, pause, fail/heal marks) stamped like an event. */
  note<K extends TuiEventType>(type: K, fields: TuiEventMap[K], time = Date.now()): void {
    // It belongs to no engine stream, so it takes the current position rather than a sequence number.
    this.dispatch({ ...fields, type, seq: this.state.seq, time } as TuiEvent);
  }

  /** Publishes now (tests, and the final frame before quitting). */
  flush(): void {
    this.cancelFrame?.();
    this.cancelFrame = undefined;
    this.publish();
  }

  private schedule(): void {
    if (this.cancelFrame) return;
    this.cancelFrame = this.timer.setTimer(this.frameMs, () => {
      this.cancelFrame = undefined;
      this.publish();
    });
  }

  private publish(): void {
    if (this.published === this.state) return;
    this.published = this.state;
    for (const l of this.listeners) l();
  }
}
