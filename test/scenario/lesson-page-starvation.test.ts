// Lesson 11 says what kcopyd does with a small reserve and no pages from the allocator; this checks that the
// engine did exactly that while the lesson played: the kernel's run_pages_job puts a job that cannot get its
// pages back at the head of pages_jobs and process_jobs stops there, so a one-page job queued behind it is not
// even tried until the job ahead has its pages (dm-kcopyd.c; ../shared/reference/kcopyd.md "head-of-line").

import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';
import { type DmEvent, EventBus } from '../../src/base/events.js';
import type { KcopydJobEvent } from '../../src/kcopyd/events.js';
import { loadScenario, ScenarioPlayer } from '../../src/scenario/index.js';

const lesson = join(resolve(import.meta.dirname, '../../fixtures/lessons'), '11-kcopyd-page-starvation.json');

it('lesson 11: a sub-job waits for pages at the head of the list, and the small job behind it waits without being tried', async () => {
  const scenario = await loadScenario(lesson);
  const bus = new EventBus();
  const player = ScenarioPlayer.embedded(scenario, { bus });
  const byStep = new Map<number, KcopydJobEvent[]>();
  let step = 0;
  bus.on((e: DmEvent) => {
    if (e.type !== 'kcopyd.job') return;
    const list = byStep.get(step) ?? [];
    list.push(e);
    byStep.set(step, list);
  });
  try {
    while (!player.done) {
      step = player.position + 1;
      const outcome = await player.next();
      expect(outcome.ok, `step ${outcome.number}: ${outcome.reason}`).toBe(true);
    }
  } finally {
    await player.close();
  }
  const copySteps = scenario.steps.filter((s) => s.do === 'copy').map((s) => s.number);
  expect(copySteps).toHaveLength(3);
  const [roomy, tight, blocked] = copySteps.map((n) => byStep.get(n) ?? []);

  // 256 pages: both sub-jobs take their 128 pages without waiting.
  expect(roomy!.filter((e) => e.phase === 'pages-wait')).toEqual([]);
  expect(roomy!.filter((e) => e.phase === 'pages-taken').map((e) => e.pages)).toEqual([128, 128]);

  // 130 pages: the second sub-job waits until the first has given its pages back.
  const order = (events: KcopydJobEvent[]): string[] =>
    events
      .filter((e) => ['pages-wait', 'pages-taken', 'complete'].includes(e.phase) && e.kind === 'copy')
      .map((e) => `${e.slot === null ? 'master' : `sub@${e.offset}`}:${e.phase}`);
  const t = order(tight!);
  expect(t.indexOf('sub@1024:pages-wait')).toBeGreaterThan(t.indexOf('sub@0:pages-taken'));
  expect(t.indexOf('sub@1024:pages-taken')).toBeGreaterThan(t.indexOf('sub@0:complete'));
  expect(t.indexOf('sub@0:pages-taken')).toBeGreaterThanOrEqual(0);

  // Head-of-line: the 8-sector job (1 page) is never tried while the sub-job ahead of it waits, though 2 pages
  // are free then; it takes its page only after that sub-job has taken its 128.
  const small = blocked!.filter((e) => e.count === 8 && e.slot === null);
  expect(small.map((e) => e.phase)).not.toContain('pages-wait');
  const phases = blocked!.map((e) => `${e.count === 8 ? 'small' : `sub@${e.offset}`}:${e.phase}`);
  const waits = phases.filter((p) => p === 'sub@1024:pages-wait').length;
  expect(waits).toBeGreaterThan(0);
  expect(phases.indexOf('small:pages-taken')).toBeGreaterThan(phases.indexOf('sub@1024:pages-taken'));
});
