// What `waitFor` and a lesson's `wait` step wait for, decided on the typed status of a device:
//   sync    — every mirror line has all regions in sync (dm-raid1.c raises its dm event the first time it does)
//   merged  — every snapshot-merge line has allocated == metadata (lvm2's lvconvert --merge polls the same numbers)
//   invalid — a snapshot or snapshot-merge line says Invalid (the COW filled up or failed)
//   event   — the device's event counter reached N (what `dmsetup wait NAME N-1` returns on)
//   a predicate over the device's state, for anything else.
// A condition that can no longer hold (a merge failed, no mirror in the table) is reported as hopeless, so the
// waiter fails at once with the reason instead of running into its timeout.

import { isMirrorInSync } from './mirror/status.js';
import { isMergeComplete } from './snapshot/status.js';
import { formatTargetStatus, type StatusLine, type TargetStatus } from './status.js';

/** A device as a waiter sees it: its status lines and its event counter. */
export interface DeviceState {
  name: string;
  eventNr: number;
  lines: StatusLine[];
}

export type WaitCondition = 'sync' | 'merged' | 'invalid' | { event: number } | ((state: DeviceState) => boolean);

export interface ConditionCheck {
  done: boolean;
  /** Why the condition can never hold now, if it cannot. */
  hopeless?: string;
}

/** The condition in words, for messages: "in sync", "at event 2". */
export function describeCondition(cond: WaitCondition): string {
  if (typeof cond === 'function') return 'matching the predicate';
  if (typeof cond === 'object') return `at event ${cond.event}`;
  return cond === 'sync' ? 'in sync' : cond === 'merged' ? 'merged' : 'Invalid';
}

/** The status lines as `dmsetup status NAME` prints them (a waiter's error shows them). */
export function statusText(state: DeviceState): string {
  if (state.lines.length === 0) return `${state.name} has no live table`;
  return state.lines.map((l) => `${l.start} ${l.length} ${l.target} ${l.params}`).join('; ');
}

export function checkCondition(cond: WaitCondition, state: DeviceState): ConditionCheck {
  if (typeof cond === 'function') return { done: cond(state) };
  if (typeof cond === 'object') return { done: state.eventNr >= cond.event };
  const typed = state.lines.map((l) => l.parsed);
  const of = <T extends TargetStatus['target']>(...targets: T[]) =>
    typed.filter((s): s is TargetStatus & { target: T } => s !== undefined && targets.includes(s.target as T));
  const none = (what: string): ConditionCheck => ({ done: false, hopeless: `no ${what} target in ${state.name}` });
  switch (cond) {
    case 'sync': {
      const mirrors = of('mirror');
      if (mirrors.length === 0) return none('mirror');
      return { done: mirrors.every(isMirrorInSync) };
    }
    case 'merged': {
      const merges = of('snapshot-merge');
      if (merges.length === 0) return none('snapshot-merge');
      const stuck = merges.find((s) => s.state === 'invalid' || s.state === 'merge-failed');
      if (stuck) return { done: false, hopeless: `the merge stopped (${formatTargetStatus(stuck)})` };
      return { done: merges.every(isMergeComplete) };
    }
    case 'invalid': {
      const snaps = of('snapshot', 'snapshot-merge');
      if (snaps.length === 0) return none('snapshot');
      return { done: snaps.some((s) => s.state === 'invalid') };
    }
  }
}
