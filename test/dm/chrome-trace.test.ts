// The Chrome trace of lesson 01 (`dmsim run --trace FILE.json`): valid JSON in the Trace Event Format, with
// the documented tracks (a process per kcopyd client with a slice per job and sub-job, its read and write
// inside; the page pool as a counter; a thread per device with its bios; instants for errors and dm events),
// checked against the engine's own events recorded beside it in the same run.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DmEvent, EventBus } from '../../src/base/events.js';
import type { ChromeTraceEvent } from '../../src/dm/chrome-trace.js';
import { openTraceFile, traceFormat } from '../../src/dm/trace-file.js';
import { runScenario } from '../../src/scenario/run-scenario.js';

const LESSON = join(import.meta.dirname, '../../fixtures/lessons/01-kcopyd-basics.json');

let dir: string;
let trace: ChromeTraceEvent[];
const events: DmEvent[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dmsim-chrome-trace-'));
  const path = join(dir, 'lesson-01.json');
  const bus = new EventBus();
  bus.on((e) => events.push(e));
  const file = openTraceFile(bus, path);
  const result = await runScenario(LESSON, { bus });
  await file.close();
  expect(result.ok).toBe(true);
  const parsed = JSON.parse(await readFile(path, 'utf8')) as { traceEvents: ChromeTraceEvent[] };
  trace = parsed.traceEvents;
}, 120_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const jobEvents = (): Extract<DmEvent, { type: 'kcopyd.job' }>[] =>
  events.flatMap((e) => (e.type === 'kcopyd.job' && e.kind !== 'callback' ? [e] : []));

describe('a Chrome trace of lesson 01', () => {
  it('is chosen by the .json name; any other name keeps JSON lines', () => {
    expect(traceFormat('x/lesson.json')).toBe('chrome');
    expect(traceFormat('x/lesson.jsonl')).toBe('jsonl');
    expect(traceFormat('trace')).toBe('jsonl');
  });

  it('names a process per kcopyd client after its owner', () => {
    const clients = new Map<number, string>();
    for (const e of events) if (e.type === 'kcopyd.client' && e.action === 'create') clients.set(e.client, e.owner);
    expect(clients.size).toBeGreaterThan(0);
    const names = trace.filter((t) => t.ph === 'M' && t.name === 'process_name').map((t) => t.args!.name);
    for (const [id, owner] of clients) {
      if (jobEvents().some((j) => j.client === id)) expect(names).toContain(`kcopyd client ${id} (${owner})`);
    }
  });

  it('has one slice per job and per sub-job, each opened and closed once, around its reads and writes', () => {
    const masters = new Set(jobEvents().map((j) => j.master));
    const subs = new Set(jobEvents().flatMap((j) => (j.master !== j.job ? [j.job] : [])));
    const opened = (id: string, name: string) => trace.filter((t) => t.ph === 'b' && t.id === id && t.name === name);
    for (const m of masters) expect(opened(`job-${m}`, `job ${m}`)).toHaveLength(1);
    for (const s of subs) {
      const master = jobEvents().find((j) => j.job === s)!.master;
      expect(opened(`job-${s}`, `sub-job ${s} of job ${master}`)).toHaveLength(1);
    }
    // Every slice closes, in the order it opened (nestable async slices per id).
    const stacks = new Map<string, string[]>();
    for (const t of trace) {
      if (t.ph === 'b') stacks.set(t.id!, [...(stacks.get(t.id!) ?? []), t.name]);
      if (t.ph === 'e') expect(stacks.get(t.id!)?.pop()).toBe(t.name);
    }
    for (const [id, stack] of stacks) expect(stack, id).toEqual([]);
    // The reads and writes are the engine's issued I/O, one slice each, on the job that did it.
    for (const op of ['read', 'write'] as const) {
      const issued = jobEvents().filter((j) => j.phase === `${op}-issued`);
      const slices = trace.filter((t) => t.ph === 'b' && t.name === op);
      expect(slices.map((t) => t.id).sort()).toEqual(issued.map((j) => `job-${j.job}`).sort());
      expect(issued.length).toBeGreaterThan(0);
    }
  });

  it('shows the page pool as a counter, the bios per device, and instants for errors and dm events', () => {
    const pools = events.filter((e) => e.type === 'kcopyd.pool' && jobEvents().some((j) => j.client === e.client));
    const counters = trace.filter((t) => t.ph === 'C' && t.name === 'pages');
    expect(counters.length).toBe(pools.length);
    const bios = events.filter((e) => e.type === 'dm.io');
    expect(trace.filter((t) => t.ph === 'X' && t.cat === 'bio')).toHaveLength(bios.length);
    const threads = trace.filter((t) => t.ph === 'M' && t.name === 'thread_name').map((t) => t.args!.name);
    for (const e of events) if (e.type === 'dm.created') expect(threads).toContain(e.device);
    const errors = events.filter((e) => e.type === 'io.error');
    expect(errors.length).toBeGreaterThan(0); // lesson 01 has a failing destination
    expect(trace.filter((t) => t.ph === 'i' && t.cat === 'error' && t.pid === 1)).toHaveLength(errors.length);
    const created = events.filter((e) => e.type === 'dm.created').length;
    expect(trace.filter((t) => t.ph === 'i' && t.name === 'dm.created')).toHaveLength(created);
  });
});
