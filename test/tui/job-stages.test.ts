// Every stage of an unsplit kcopyd job as the TUI's store shows it, stepped one worker pass at a time
// (ManualScheduler): a snapshot's COW copy, a mirror's resync of one region and a snapshot-merge copy. The
// expectation is dm-kcopyd.c's order for one job: dispatch_job puts it on pages_jobs; a pass's run_pages_job
// gives it pages and moves it to io_jobs; run_io_job issues the read; complete_io puts it back on io_jobs for the
// write; after the write, on complete_jobs; the next pass's run_complete_job runs the callback.

import { describe, expect, it } from 'vitest';
import { ManualScheduler } from '../../src/kcopyd/scheduler.js';
import { reduce } from '../../tui/store/reduce.js';
import { initialState, type JobStage, type ViewState } from '../../tui/store/view-state.js';
import { Lab, stamp } from '../snapshot/support/dm.js';
import { onBus, waitFor } from '../support/wait.js';

const S = 8192;

/** Every stage a job passes through, event by event, and the stage it sits in between worker passes. */
const EVERY_STAGE: JobStage[] = [
  'queued',
  'read-queued',
  'reading',
  'write-queued',
  'writing',
  'finishing',
  'complete',
];
const BETWEEN_PASSES: JobStage[] = ['queued', 'write-queued', 'finishing', 'complete'];

interface Walk {
  /** Stages of the job, each time it changed, over every event. */
  all: JobStage[];
  /** Its stage each time the worker waited for the next step (and at the end). */
  stepped: JobStage[];
}

/**
 * Reduces every event of the lab into a view, and steps passes one at a time until the first job of `owner`
 * that `pick` accepts is complete; `started` starts the work (its promise settles once the job is done).
 */
async function walk(lab: Lab, scheduler: ManualScheduler, owner: string, start: () => Promise<unknown>): Promise<Walk> {
  let view: ViewState = initialState(0);
  let jobId: number | undefined;
  const all: JobStage[] = [];
  const stageNow = (): JobStage | undefined => (jobId === undefined ? undefined : view.jobs.get(jobId)?.stage);
  const off = lab.bus.on((e) => {
    view = reduce(view, e);
    if (jobId === undefined && e.type === 'kcopyd.job' && e.owner === owner && e.kind !== 'callback') jobId = e.job;
    const stage = stageNow();
    if (stage !== undefined && all.at(-1) !== stage) all.push(stage);
  });
  const stepped: JobStage[] = [];
  let done = false;
  const work = start().then(() => {
    done = true;
  });
  try {
    for (let passes = 0; stageNow() !== 'complete'; passes++) {
      expect(passes).toBeLessThan(50);
      // The I/O of the last pass completes on its own; the next pass then waits for a step.
      await waitFor(
        'a worker pass to step',
        () => (scheduler.pending.length > 0 ? true : undefined),
        onBus(lab.bus),
        () => `job ${jobId} stage ${stageNow()}`,
      );
      const stage = stageNow();
      if (stage !== undefined && stepped.at(-1) !== stage) stepped.push(stage);
      scheduler.step();
    }
    stepped.push('complete');
    // Whatever the target does after the copy (commit, next region) runs freely now.
    while (!done) {
      scheduler.step();
      await new Promise((r) => setImmediate(r));
    }
    await work;
  } finally {
    off();
  }
  return { all, stepped };
}

describe('kcopyd job stages, one worker pass at a time', () => {
  it("a snapshot's COW copy (one chunk, not split)", async () => {
    const scheduler = new ManualScheduler();
    const lab = new Lab({ scheduler });
    await lab.disk('data', S, stamp('OLD', 0, S));
    await lab.disk('cow', S);
    await lab.dm.create('origin', `0 ${S} snapshot-origin data`);
    await lab.takeSnapshot('origin', 'snap', `0 ${S} snapshot data cow N 8`);
    const w = await walk(lab, scheduler, 'snapshot', () => lab.write('origin', 24, stamp('NEW', 24, 8)));
    expect(w.all).toEqual(EVERY_STAGE);
    expect(w.stepped).toEqual(BETWEEN_PASSES);
    expect((await lab.read('snap', 24, 8)).equals(stamp('OLD', 24, 8))).toBe(true);
    await lab.dm.close();
  });

  it("a mirror's resync of its first region (core log, region of 1024 sectors)", async () => {
    const scheduler = new ManualScheduler();
    const lab = new Lab({ scheduler });
    await lab.disk('a', S, stamp('A', 0, S));
    await lab.disk('b', S);
    const w = await walk(lab, scheduler, 'mirror', () => lab.dm.create('m', `0 ${S} mirror core 1 1024 2 a 0 b 0`));
    expect(w.all).toEqual(EVERY_STAGE);
    expect(w.stepped).toEqual(BETWEEN_PASSES);
    await lab.dm.close();
  });

  it('a snapshot-merge copy (one chunk back to the origin)', async () => {
    const scheduler = new ManualScheduler();
    const lab = new Lab({ scheduler });
    await lab.disk('data', S, stamp('OLD', 0, S));
    await lab.disk('cow', S);
    await lab.dm.create('origin', `0 ${S} snapshot-origin data`);
    await lab.takeSnapshot('origin', 'snap', `0 ${S} snapshot data cow P 8`);
    // The COW copy of chunk 3 runs freely (stepped until the write returns).
    const write = lab.write('snap', 24, stamp('SNP', 24, 8));
    let settled = false;
    void write.then(() => (settled = true));
    while (!settled) {
      scheduler.step();
      await new Promise((r) => setImmediate(r));
    }
    const w = await walk(lab, scheduler, 'merge', async () => {
      await lab.dm.suspend('origin');
      await lab.dm.suspend('snap');
      await lab.dm.load('origin', `0 ${S} snapshot-merge data cow P 8`);
      await lab.dm.resume('origin');
    });
    expect(w.all).toEqual(EVERY_STAGE);
    expect(w.stepped).toEqual(BETWEEN_PASSES);
    await lab.dm.close();
  });
});
