// The conditions a `wait` step polls for, read from status lines as dmsetup status prints them:
//   sync    — a mirror's "<in-sync>/<total>" regions are equal (dm-raid1.c mirror_status)
//   merged  — a snapshot-merge's "<allocated>/<total> <metadata>" has allocated == metadata
//             (dm-snap.c snapshot_status; lvm2's lvconvert --merge polls the same numbers)
//   invalid — a snapshot's status is "Invalid" (the COW filled up or failed)
//   event   — the device's event counter reached N (what `dmsetup wait NAME N-1` returns on)
//   status  — the status text matches a regular expression

import type { TableLine } from '../control/protocol.js';
import { tableText } from '../dm/table-line.js';
import type { Step } from './schema.js';

export interface ConditionState {
  done: boolean;
  /** The condition can no longer hold (a merge failed, a snapshot went invalid while merging). */
  hopeless: boolean;
  /** What was seen, for the report. */
  seen: string;
}

type WaitStep = Extract<Step, { do: 'wait' }>;

function mirrorSync(params: string): [number, number] | null {
  const words = params.split(' ');
  const legs = Number(words[0]);
  const m = /^(\d+)\/(\d+)$/.exec(words[1 + legs] ?? '');
  return m ? [Number(m[1]), Number(m[2])] : null;
}

/** The condition in words: "in sync", "at event 2", "matching /AD/". */
export function conditionText(step: WaitStep): string {
  switch (step.for) {
    case 'sync':
      return 'in sync';
    case 'merged':
      return 'merged';
    case 'invalid':
      return 'Invalid';
    case 'event':
      return `at event ${step.event}`;
    case 'status':
      return `matching /${step.match!.source}/`;
  }
}

export function checkCondition(step: WaitStep, lines: readonly TableLine[], eventNr: number): ConditionState {
  const text = tableText(lines);
  const state = (done: boolean, hopeless = false, seen = text): ConditionState => ({ done, hopeless, seen });
  switch (step.for) {
    case 'status':
      return state(step.match!.test(text));
    case 'event':
      return state(eventNr >= step.event!, false, `event number ${eventNr}`);
    case 'invalid': {
      const snaps = lines.filter((l) => l.target === 'snapshot' || l.target === 'snapshot-merge');
      if (snaps.length === 0) return state(false, true, `no snapshot target in ${step.name}: ${text}`);
      return state(snaps.some((l) => l.params === 'Invalid'));
    }
    case 'sync': {
      const mirrors = lines.filter((l) => l.target === 'mirror');
      if (mirrors.length === 0) return state(false, true, `no mirror target in ${step.name}: ${text}`);
      return state(
        mirrors.every((l) => {
          const s = mirrorSync(l.params);
          return s !== null && s[0] === s[1];
        }),
      );
    }
    case 'merged': {
      const merges = lines.filter((l) => l.target === 'snapshot-merge');
      if (merges.length === 0) return state(false, true, `no snapshot-merge target in ${step.name}: ${text}`);
      if (merges.some((l) => l.params === 'Invalid' || l.params === 'Merge failed')) return state(false, true);
      return state(
        merges.every((l) => {
          const m = /^(\d+)\/\d+ (\d+)$/.exec(l.params);
          return m !== null && m[1] === m[2];
        }),
      );
    }
  }
}
