// Lessons 10 and 12 teach with data, not only status lines: which regions a mirror's disk log resyncs after a
// restart, and which chunks a failed merge had already copied back. The kernel oracle ran the same steps with
// recognisable bytes (fixtures/lessons/oracle/claims.sh; claims.out is what Linux 6.1 printed): each read step
// of those lessons must expect what the kernel found there — the byte written at that step, or the data from
// before (claims.sh fills that with one byte, a lesson with a seeded pattern).

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';
import { loadScenario } from '../../src/scenario/index.js';
import type { Step } from '../../src/scenario/schema.js';

const dir = resolve(import.meta.dirname, '../../fixtures/lessons');
const claims = readFileSync(join(dir, 'oracle/claims.out'), 'utf8');

/** The one byte value the kernel found in the region a claims.out line names, e.g. "leg1 region 5 (1300+8): 99". */
function kernelByte(label: RegExp): number {
  const line = claims.split('\n').find((l) => label.test(l));
  expect(line, `claims.out has a line matching ${label}`).toBeDefined();
  const bytes = line!
    .slice(line!.lastIndexOf(':') + 1)
    .trim()
    .split(/\s+/);
  expect(bytes, `one byte value throughout: ${line}`).toHaveLength(1);
  return Number.parseInt(bytes[0]!, 16);
}

async function readStep(lesson: string, image: string, sector: number): Promise<Extract<Step, { do: 'read' }>> {
  const scenario = await loadScenario(join(dir, lesson));
  const step = scenario.steps.find(
    (s) => s.do === 'read' && 'image' in s.from && s.from.image === image && s.sector === sector,
  );
  expect(step, `${lesson} reads image ${image} at ${sector}`).toBeDefined();
  return step as Extract<Step, { do: 'read' }>;
}

/** What a read expects: a byte, or 'old' for the seeded data written before the lesson's changes. */
function expectation(step: Extract<Step, { do: 'read' }>): number | 'old' {
  const e = step.expect;
  if ('byte' in e) return e.byte;
  if ('seed' in e) return 'old';
  throw new Error(`step ${step.number} checks a hash`);
}

it('lesson 12: after the write error the newest chunks are merged back and the oldest are not, as on the kernel', async () => {
  const before = 0x01; // claims.sh's data from before the snapshot
  const merged = kernelByte(/^disk chunks 20-21/);
  const notMerged = kernelByte(/^disk chunks 4-8/);
  expect(merged).toBe(before);
  expect(expectation(await readStep('12-merge-in-batches.json', 'disk', 160))).toBe('old');
  expect(expectation(await readStep('12-merge-in-batches.json', 'disk', 32))).toBe(notMerged);
});

it('lesson 10: after the restart only the dirty region was resynced, as on the kernel', async () => {
  const resynced = kernelByte(/^leg1 region 5/);
  const trusted = kernelByte(/^leg1 region 8/);
  expect(kernelByte(/^leg0 region 8/)).not.toBe(trusted); // the legs still differ there
  expect(expectation(await readStep('10-mirror-log-across-restart.json', 'leg1', 1300))).toBe(resynced);
  expect(expectation(await readStep('10-mirror-log-across-restart.json', 'leg1', 2048))).toBe(trusted);
  expect(expectation(await readStep('10-mirror-log-across-restart.json', 'leg0', 2048))).toBe('old');
  // The log the kernel left before the restart: region 5's clean bit (bit 5 of byte 1024) is 0, the rest 1.
  expect(claims).toMatch(/^log clean bits \(byte 1024\.\.1025\): +df ff$/m);
});
