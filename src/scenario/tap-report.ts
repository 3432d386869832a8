// The headless report of a scenario: TAP (Test Anything Protocol, version 13) lines. The plan comes first
// (1..N, one test point per step); each step's narration precedes its line as a comment, what it saw
// follows it; a failed action ends the run with "Bail out!" since the steps after it build on it.

import type { StepOutcome } from './player.js';
import type { Scenario } from './schema.js';

const comment = (text: string, prefix = ''): string[] => text.split('\n').map((l) => `# ${prefix}${l}`);

export function tapHeader(scenario: Scenario): string[] {
  return ['TAP version 13', ...comment(scenario.title), `1..${scenario.steps.length}`];
}

export function tapStep(o: StepOutcome): string[] {
  const lines = o.say !== undefined ? comment(o.say) : [];
  lines.push(`${o.ok ? 'ok' : 'not ok'} ${o.number} - ${o.title}`);
  if (!o.ok && o.reason !== undefined) lines.push(...comment(o.reason, '  reason: '));
  if (o.detail !== undefined) lines.push(...comment(o.detail, '  -> '));
  if (o.bail) lines.push(`Bail out! step ${o.number} failed, and the steps after it depend on it`);
  return lines;
}

export function tapSummary(outcomes: readonly StepOutcome[], total: number): string[] {
  const failed = outcomes.filter((o) => !o.ok).map((o) => o.number);
  const notRun = total - outcomes.length;
  if (failed.length === 0 && notRun === 0) return [`# all ${total} steps ok`];
  return [`# failed: ${failed.length === 0 ? 'none' : failed.join(', ')}${notRun > 0 ? `; not run: ${notRun}` : ''}`];
}
