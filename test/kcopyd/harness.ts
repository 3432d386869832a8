// A manual-scheduler kcopyd engine with an event recorder, for the deterministic tests.

import type { DmEvent } from '../../src/base/events.js';
import { EventBus } from '../../src/base/events.js';
import { KcopydEngine, type KcopydEngineOptions } from '../../src/kcopyd/engine.js';
import type { KcopydJobEvent } from '../../src/kcopyd/events.js';
import { ManualScheduler } from '../../src/kcopyd/scheduler.js';

export interface Harness {
  engine: KcopydEngine;
  scheduler: ManualScheduler;
  events: DmEvent[];
  /** kcopyd.job events, optionally only those of one phase. */
  jobEvents(phase?: KcopydJobEvent['phase']): KcopydJobEvent[];
  /** Runs one pass and returns the job events it produced. */
  step(): KcopydJobEvent[];
}

export function harness(options: Omit<KcopydEngineOptions, 'scheduler' | 'bus'> = {}): Harness {
  const bus = new EventBus();
  const events: DmEvent[] = [];
  bus.on((e) => events.push(e));
  const scheduler = new ManualScheduler();
  const engine = new KcopydEngine({ ...options, bus, scheduler });
  const jobEvents = (phase?: KcopydJobEvent['phase'], from = 0): KcopydJobEvent[] =>
    events
      .slice(from)
      .filter(
        (e): e is Extract<DmEvent, { type: 'kcopyd.job' }> => e.type === 'kcopyd.job' && (!phase || e.phase === phase),
      );
  return {
    engine,
    scheduler,
    events,
    jobEvents: (phase) => jobEvents(phase),
    step: () => {
      const from = events.length;
      if (!scheduler.step()) throw new Error('step(): no worker pass pending');
      return jobEvents(undefined, from);
    },
  };
}

/** "job:phase" strings, for comparing sequences. */
export function phases(events: KcopydJobEvent[]): string[] {
  return events.map((e) => `${e.job}:${e.phase}${e.list ? `>${e.list}` : ''}`);
}
