// The conditions a `wait` step polls for: sync, merged, invalid and event are the library's (targets/
// wait-condition.ts, decided on the typed status); `status` is the lessons' own: the status text as dmsetup
// prints it matches a regular expression.

import { withParsedStatus } from '../../targets/status.js';
import { checkCondition as checkWait, describeCondition } from '../../targets/wait-condition.js';
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

/** The condition in words: "in sync", "at event 2", "matching /AD/". */
export function conditionText(step: WaitStep): string {
  if (step.for === 'status') return `matching /${step.match!.source}/`;
  return describeCondition(step.for === 'event' ? { event: step.event! } : step.for);
}

export function checkCondition(step: WaitStep, lines: readonly TableLine[], eventNr: number): ConditionState {
  const text = tableText(lines);
  if (step.for === 'status') return { done: step.match!.test(text), hopeless: false, seen: text };
  const c = checkWait(step.for === 'event' ? { event: step.event! } : step.for, {
    name: step.name,
    eventNr,
    lines: withParsedStatus(lines),
  });
  const seen = step.for === 'event' ? `event number ${eventNr}` : c.hopeless ? `${c.hopeless}: ${text}` : text;
  return { done: c.done, hopeless: c.hopeless !== undefined, seen };
}
