// The store replays recorded kcopyd streams (fixtures/events/, recorded from the real engine by
// fixtures/events/record.ts). Expectations come from the recorded scenario and kcopyd's documented rules
// (8 chunks in flight, read_err boolean, one write_err bit per destination), not from the store's output.

import { describe, expect, it } from 'vitest';
import { loggedCount } from '../../tui/store/event-log.js';
import { errorBits, jobList } from '../../tui/store/kcopyd-view.js';
import { reduce, reduceAll } from '../../tui/store/reduce.js';
import { initialState, type ViewState } from '../../tui/store/view-state.js';
import { fieldOf, loadStream } from './replay.js';

/** Every intermediate state of a replay. */
function states(events: ReturnType<typeof loadStream>, start: ViewState = initialState(0)): ViewState[] {
  const out: ViewState[] = [];
  let s = start;
  for (const e of events) {
    s = reduce(s, e);
    out.push(s);
  }
  return out;
}

describe('store: a split copy with a small reserve (kcopyd-split)', () => {
  const events = loadStream('kcopyd-split');
  const all = states(events);

  it('shows the client with its 8-page reserve and no shared pages', () => {
    const first = all.find((s) => s.clients.size > 0)!;
    const c = first.clients.get(1)!;
    expect(c.owner).toBe('copy');
    expect(c.reservePages).toBe(8);
    expect(all.some((s) => s.shared.limit === 0)).toBe(true);
  });

  it('lists the 640-sector copy as one job of 10 chunks with its regions, never more than 8 in flight', () => {
    const withMaster = all.filter((s) => [...s.jobs.values()].some((j) => j.totalSectors === 640));
    expect(withMaster.length).toBeGreaterThan(0);
    const last = withMaster[withMaster.length - 1]!;
    const master = [...last.jobs.values()].find((j) => j.totalSectors === 640)!;
    expect(master.source).toBe('/tmp/src.img:0+640');
    expect(master.dests).toEqual(['/tmp/dst.img:0+640']);
    expect(master.chunks).toBe(10);
    for (const s of withMaster) {
      for (const j of s.jobs.values()) expect(j.subInFlight).toBeLessThanOrEqual(8);
    }
    expect(
      Math.max(...withMaster.map((s) => [...s.jobs.values()].find((j) => j.totalSectors === 640)?.subInFlight ?? 0)),
    ).toBe(8);
  });

  it('shows head-of-line blocking: a job waiting for pages while the reserve is empty', () => {
    const blocked = all.filter((s) => [...s.jobs.values()].some((j) => j.stage === 'pages'));
    expect(blocked.length).toBeGreaterThan(0);
    expect(blocked.some((s) => s.clients.get(1)!.reserveFree === 0)).toBe(true);
  });

  it('page gauge stays within the reserve and ends full again', () => {
    for (const s of all) {
      const c = s.clients.get(1);
      if (!c) continue;
      expect(c.reserveFree).toBeGreaterThanOrEqual(0);
      expect(c.reserveFree).toBeLessThanOrEqual(c.reservePages);
    }
    const beforeDestroy = all.filter((s) => s.clients.has(1)).pop()!;
    expect(beforeDestroy.clients.get(1)!.reserveFree).toBe(8);
  });

  it('every job completes without errors, and the copy rate counts the copied bytes (the zero job is not a copy)', () => {
    const done = all.filter((s) => s.clients.has(1)).pop()!;
    const jobs = jobList(done.jobs);
    expect(jobs).toHaveLength(3);
    for (const j of jobs) {
      expect(j.stage).toBe('complete');
      expect(errorBits(j)).toBe('read_err=0 write_err=0x0');
    }
    expect(jobs.map((j) => j.kind).sort()).toEqual(['copy', 'copy', 'zero']);
    const final = all[all.length - 1]!;
    expect(final.throughput.totals.copy).toBe((640 + 16) * 512);
    expect(final.log.errors).toBe(0);
  });

  it('counts one worker pass per full pass event, forgets a destroyed client but keeps its finished jobs', () => {
    const final = all[all.length - 1]!;
    expect(final.passes).toBe(events.filter((e) => e.type === 'kcopyd.pass' && fieldOf(e, 'kind') === 'full').length);
    expect(final.clients.size).toBe(0);
    expect([...final.jobs.values()].map((j) => j.stage)).toEqual(['complete', 'complete', 'complete']);
  });

  it('a worker pass already queued when the client was destroyed does not bring it back', () => {
    const final = all[all.length - 1]!;
    const late = [
      {
        type: 'kcopyd.queues',
        seq: 1e6,
        time: 1,
        client: 1,
        owner: 'copy',
        pagesJobs: 0,
        ioJobs: 0,
        completeJobs: 0,
        callbackJobs: 0,
        nrJobs: 0,
      },
      {
        type: 'kcopyd.pool',
        seq: 1e6 + 1,
        time: 1,
        client: 1,
        owner: 'copy',
        reserveTotal: 8,
        reserveFree: 8,
        sharedUsed: 0,
        engineSharedUsed: 0,
        sharedLimit: 0,
      },
    ];
    expect(reduceAll(final, late as never[]).clients.size).toBe(0);
  });

  it('queue lengths follow the events: pages_jobs holds the waiting chunks', () => {
    const maxPages = Math.max(...all.map((s) => s.clients.get(1)?.queues.pages ?? 0));
    expect(maxPages).toBeGreaterThan(1);
    const beforeDestroy = all.filter((s) => s.clients.has(1)).pop()!;
    expect(beforeDestroy.clients.get(1)!.queues).toEqual({ pages: 0, io: 0, complete: 0, callback: 0 });
  });
});

describe('store: copies that fail (kcopyd-errors)', () => {
  const events = loadStream('kcopyd-errors');
  const all = states(events);
  const beforeDestroy = all.filter((s) => s.clients.size === 2).pop()!;

  it('a failed write to the second destination sets write_err bit 1 on the snapshot job', () => {
    const snap = [...beforeDestroy.jobs.values()].find((j) => j.owner === 'snapshot')!;
    expect(snap.dests).toEqual(['/tmp/good.img:0+512', '/tmp/bad.img:0+512']);
    expect(snap.readErr).toBe(false);
    expect(snap.writeErr).toBe(0b10);
  });

  it('a failed source read sets read_err on the mirror job and nothing else', () => {
    const m = [...beforeDestroy.jobs.values()].find((j) => j.owner === 'mirror')!;
    expect(errorBits(m)).toBe('read_err=1 write_err=0x0');
  });

  it('logs each failed page and each failed job as errors, newest first, with the device', () => {
    const final = all[all.length - 1]!;
    const ioErrors = events.filter((e) => e.type === 'io.error');
    expect(ioErrors.length).toBe(2); // one 4 KiB page fails on each faulty device
    expect(final.log.errors).toBe(ioErrors.length + 2);
    const errorLines = final.log.entries.filter((e) => e.level === 'error');
    expect(errorLines.map((e) => e.device).filter((d) => d !== '')).toEqual(
      expect.arrayContaining(['/tmp/bad.img', '/tmp/src.img']),
    );
    const seqs = final.log.entries.map((e) => e.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
  });

  it('a small log capacity folds old entries but accounts for every logged event', () => {
    const full = reduceAll(initialState(0), events);
    const small = reduceAll(initialState(0, { logCapacity: 3 }), events);
    expect(small.log.entries).toHaveLength(3);
    expect(small.log.folded).toBeGreaterThan(0);
    expect(loggedCount(small.log)).toBe(loggedCount(full.log));
    expect(small.log.entries).toEqual(full.log.entries.slice(0, 3));
  });
});
