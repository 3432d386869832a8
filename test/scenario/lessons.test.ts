// Every shipped lesson plays headless and passes, and what it asserts is what Linux 6.1 does: the kernel
// oracle ran the same device-mapper steps (fixtures/lessons/oracle/lessons.sh, generated from the lessons by
// make-job.ts) and printed its status lines (lessons.out). Each lesson's status regexes must match the
// kernel's line for that step, and dmsim's status there must be the kernel's, byte for byte (device names
// aside: the kernel's images are linear devices img-NAME where dmsim has files NAME.img).

import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadScenario, runScenario } from '../../src/scenario/run-scenario.js';
import type { Step } from '../../src/scenario/schema.js';
import { type DaemonHandle, startDaemon } from '../support/daemon-process.js';

const lessonsDir = resolve(import.meta.dirname, '../../fixtures/lessons');
const lessons = readdirSync(lessonsDir)
  .filter((f) => /^\d\d-.*\.json$/.test(f))
  .sort();

/** "NN step K: WHAT" lines of the kernel's transcript, by lesson and step. */
function kernelLines(): Map<string, Map<number, string>> {
  const byLesson = new Map<string, Map<number, string>>();
  for (const line of readFileSync(join(lessonsDir, 'oracle/lessons.out'), 'utf8').split('\n')) {
    const m = /^(\d\d) step (\d+): (.*)$/.exec(line);
    if (!m) continue;
    if (!byLesson.has(m[1]!)) byLesson.set(m[1]!, new Map());
    byLesson.get(m[1]!)!.set(Number(m[2]), m[3]!);
  }
  return byLesson;
}

const kernel = kernelLines();
const asKernelNames = (text: string): string => text.replace(/\/\S*\/([\w.-]+)\.img/g, '/dev/mapper/img-$1');

it('ships the fifteen lessons the issues ask for', () => {
  expect(lessons).toHaveLength(15);
  for (const topic of [
    'kcopyd',
    'snapshot-cow',
    'snapshot-full',
    'restart',
    'merge',
    'mirror-resync',
    'leg-failure',
    'snapshot-on-mirror',
    'exception-table',
    'mirror-log',
    'page-starvation',
    'merge-in-batches',
    'thin-provisioning',
    'thin-snapshot',
    'thin-out-of-space',
  ]) {
    expect(lessons.some((f) => f.includes(topic))).toBe(true);
  }
});

describe.each(lessons)('lesson %s', (file) => {
  it('plays headless, every step ok, and agrees with Linux 6.1 at every checkpoint', async () => {
    const result = await runScenario(join(lessonsDir, file));
    const failed = result.outcomes.filter((o) => !o.ok).map((o) => `step ${o.number}: ${o.reason}`);
    expect(failed).toEqual([]);
    expect(result.ok).toBe(true);
    expect(result.lines).toContain(`1..${result.scenario.steps.length}`);
    // Teaching: most steps say what device-mapper does there.
    const said = result.scenario.steps.filter((s) => s.say !== undefined).length;
    expect(said / result.scenario.steps.length).toBeGreaterThan(0.4);

    const fromKernel = kernel.get(file.slice(0, 2)) ?? new Map<number, string>();
    for (const step of result.scenario.steps) {
      const seen = fromKernel.get(step.number);
      const outcome = result.outcomes[step.number - 1]!;
      const checked = checkAgainstKernel(step, seen, outcome.detail);
      if (checked) expect.soft(checked.got, `${file} step ${step.number} (${step.do})`).toEqual(checked.want);
    }
  });
});

describe.each(lessons)('lesson %s against a daemon', (file) => {
  it('plays through the control socket too; a restart step stops the daemon and starts it again with --state', async () => {
    const scenario = await loadScenario(join(lessonsDir, file));
    const dir = await mkdtemp(join(tmpdir(), 'dmsim-lesson-daemon-'));
    const socket = join(dir, 'control');
    const start = (): Promise<DaemonHandle> => startDaemon(socket, ['--state', join(dir, 'state.json')]);
    let daemon = await start();
    let restarts = 0;
    try {
      const result = await runScenario(scenario, {
        socket,
        restartDaemon: async () => {
          await daemon.kill('SIGTERM');
          daemon = await start();
          restarts++;
        },
      });
      expect(result.outcomes.filter((o) => !o.ok).map((o) => `step ${o.number}: ${o.reason}`)).toEqual([]);
      expect(result.ok).toBe(true);
      expect(restarts).toBe(scenario.steps.filter((s) => s.do === 'restart').length);
    } finally {
      await daemon.kill('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** What the kernel's line says about a step, next to what the lesson (and dmsim) said. */
function checkAgainstKernel(
  step: Step,
  seen: string | undefined,
  dmsimDetail: string | undefined,
): { got: unknown; want: unknown } | null {
  if (step.fails) return { got: seen?.split(' ')[0], want: 'failed' };
  if (step.do === 'expect-status' || (step.do === 'wait' && step.for !== 'event')) {
    const status = seen?.startsWith('status ') ? seen.slice('status '.length) : undefined;
    const regexHolds = step.do === 'expect-status' ? step.match.test(status ?? '') : true;
    // dmsim's status text ends without the space some kernel lines end with (thin-pool's: tableText trims).
    return {
      got: { status: asKernelNames(dmsimDetail ?? ''), regexHolds },
      want: { status: status?.trimEnd(), regexHolds: true },
    };
  }
  if (step.do === 'wait' && step.for === 'event')
    return { got: dmsimDetail, want: seen?.replace(/^event /, 'event number ') };
  return null;
}
