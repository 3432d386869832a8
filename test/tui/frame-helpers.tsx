// Helpers for ink-testing-library frame tests: a state built from recorded streams and status lines, fake
// actions that record what the keys asked for, and a tick to let Ink's effects (useInput) subscribe.

import type { AppActions } from '../../tui/app.js';
import type { EngineEvent } from '../../tui/store/engine-event.js';
import { reduceAll } from '../../tui/store/reduce.js';
import { initialState, type ViewState } from '../../tui/store/view-state.js';
import { loadStream } from './replay.js';

export const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Waits until the frame satisfies `ok` (a few ticks), else fails showing the frame it had. */
export async function waitForFrame(lastFrame: () => string | undefined, ok: (f: string) => boolean): Promise<string> {
  for (let i = 0; i < 50; i++) {
    const f = lastFrame() ?? '';
    if (ok(f)) return f;
    await tick();
  }
  throw new Error(`frame never matched; last frame:\n${lastFrame()}`);
}

let seq = 1000;
export function deviceEvent(name: string, table: string, status: string, state = 'ACTIVE'): EngineEvent {
  return {
    type: 'tui.device',
    seq: ++seq,
    time: Date.UTC(2026, 0, 1, 12, 0, 0),
    name,
    table,
    status,
    state,
  } as EngineEvent;
}

/** Devices of a small demo: an origin with two snapshots (one Invalid) and a mirror on two legs. */
export const DEMO_DEVICES: EngineEvent[] = [
  deviceEvent('base-real', '0 4096 linear /tmp/base.img 0', '0 4096 linear '),
  deviceEvent('base', '0 4096 snapshot-origin /dev/mapper/base-real', '0 4096 snapshot-origin '),
  deviceEvent('snap1', '0 4096 snapshot /dev/mapper/base-real /tmp/cow1.img P 8', '0 4096 snapshot 240/2048 16'),
  deviceEvent('snap2', '0 4096 snapshot /dev/mapper/base-real /tmp/cow2.img P 8', '0 4096 snapshot Invalid'),
  deviceEvent('leg0', '0 4000 linear /tmp/leg0.img 0', '0 4000 linear '),
  deviceEvent('leg1', '0 4000 linear /tmp/leg1.img 0', '0 4000 linear '),
  deviceEvent(
    'mirror',
    '0 4000 mirror core 1 128 2 /dev/mapper/leg0 0 /dev/mapper/leg1 0',
    '0 4000 mirror 2 /dev/mapper/leg0 /dev/mapper/leg1 30/32 1 AD 1 core',
  ),
];

/** The demo devices plus the first `n` events of a recorded kcopyd stream. */
export function demoState(stream = 'kcopyd-errors', n = Infinity): ViewState {
  const events = loadStream(stream);
  return reduceAll(reduceAll(initialState(0), DEMO_DEVICES), events.slice(0, n));
}

export interface FakeActions extends AppActions {
  calls: string[];
}

export function fakeActions(run: (line: string) => Promise<string> = async (l) => `ran ${l}`): FakeActions {
  const calls: string[] = [];
  return {
    modeName: 'test',
    canPause: true,
    calls,
    run: (line) => {
      calls.push(`run ${line}`);
      return run(line);
    },
    togglePause: () => {
      calls.push('pause');
      return 'kcopyd paused';
    },
    step: () => {
      calls.push('step');
      return 'ran one worker pass';
    },
    quit: async () => {
      calls.push('quit');
    },
  };
}
