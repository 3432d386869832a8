// `dmsim tui --scenario FILE`, through ink-testing-library: a shipped lesson (01, kcopyd basics) driven by the
// keys on a real embedded engine. n plays every step with its narration and outcome, the end is reported and
// the UI stays live; s pauses kcopyd inside a copy step and runs one worker pass per press; q removes the
// lesson's images and the session's socket directory. Expectations come from the lesson file itself (read
// here as plain JSON, not through the scenario library): its step count, its sentences, its device names.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { loadScenario, parseScenario } from '../../src/scenario/index.js';
import { App } from '../../tui/app.js';
import { type LessonSession, startLesson } from '../../tui/lesson-driver.js';
import { realTimer, ViewStore } from '../../tui/store/store.js';
import { initialState } from '../../tui/store/view-state.js';
import { tick, waitForFrame } from './frame-helpers.js';

const FILE = join(import.meta.dirname, '../../fixtures/lessons/01-kcopyd-basics.json');
const RAW = JSON.parse(readFileSync(FILE, 'utf8')) as {
  steps: Array<{ do: string; say?: string; name?: string; table?: string | string[] }>;
};
const TOTAL = RAW.steps.length;
/** 1-based number of the n-th step of a kind in the file. */
const nth = (kind: string, n = 1): number =>
  RAW.steps.map((s, i) => (s.do === kind ? i + 1 : 0)).filter(Boolean)[n - 1]!;

let running: { session: LessonSession; unmount: () => void } | undefined;
afterEach(async () => {
  running?.unmount();
  await running?.session.controller.quit();
  running = undefined;
});

async function setup(file = FILE, text?: string) {
  const store = new ViewStore({ state: initialState(Date.now()), timer: realTimer });
  const session = await startLesson(text === undefined ? await loadScenario(file) : parseScenario(text, file), store);
  const r = render(
    <App store={store} actions={session.controller} lesson={session.lesson} colour={false} cols={80} rows={24} />,
  );
  running = { session, unmount: r.unmount };
  await tick(); // useInput subscribes in an effect
  const press = async (s: string): Promise<void> => {
    r.stdin.write(s);
    await tick();
  };
  /** n, then the step's outcome on screen. */
  const playNext = async (): Promise<void> => {
    await press('n');
    await session.lesson.settled();
    store.flush();
  };
  /** Waits (real time: file I/O) until cond holds. */
  const until = async (cond: () => boolean, what: string): Promise<void> => {
    for (let i = 0; i < 2000 && !cond(); i++) await new Promise((res) => setTimeout(res, 2));
    if (!cond()) throw new Error(`never: ${what}; frame:\n${r.lastFrame()}`);
  };
  return { ...r, store, session, lesson: session.lesson, press, playNext, until };
}

describe('dmsim tui --scenario', () => {
  it('n plays lesson 01 step by step with narration and outcomes, reports the end, stays live', async () => {
    const { lastFrame, playNext, press, lesson, store } = await setup();
    const first = lastFrame()!;
    expect(first).toContain(`Lesson 0/${TOTAL} played`);
    expect(first).toContain(`first: step 1/${TOTAL}: `);
    expect(first).toContain('press n to play it');

    for (let n = 1; n <= TOTAL; n++) {
      await playNext();
      const v = lesson.getSnapshot();
      expect(v.step?.number).toBe(n);
      expect(v.outcome?.ok, `step ${n}: ${v.outcome?.reason}`).toBe(true);
      const f = await waitForFrame(lastFrame, (x) => x.includes(`step ${n}/${TOTAL}: `));
      expect(f).toMatch(/^ok/m);
      const say = RAW.steps[n - 1]!.say;
      // The sentence is shown (word-wrapped): its first words are on the screen.
      if (say) expect(f).toContain(say.split(' ').slice(0, 5).join(' '));
      if (n === nth('create')) {
        // The engine's panels follow the lesson: the device the step created is listed.
        await waitForFrame(lastFrame, (x) => x.includes(RAW.steps[n - 1]!.name!));
      }
      if (n === nth('copy')) expect(f).toContain('ok: read_err=0 write_err=0x0');
      // The events panel keeps the history: each outcome is logged there too.
      await waitForFrame(lastFrame, (x) => x.includes(`lesson step ${n}/${TOTAL} ok`));
    }
    store.flush();
    const end = await waitForFrame(lastFrame, (x) => x.includes('Lesson over'));
    expect(end).toContain(`Lesson over: ${TOTAL}/${TOTAL} played, all ok. q quits`);

    // n after the end says so; the command line still works.
    await press('n');
    await waitForFrame(lastFrame, (x) =>
      x.includes(`error: the lesson is over (${TOTAL}/${TOTAL} steps played, all ok)`),
    );
    await press(':ls\r');
    await waitForFrame(lastFrame, (x) => /No devices found/.test(x));
    const lines = lastFrame()!.split('\n');
    expect(lines.length).toBeLessThanOrEqual(23);
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(80);
  });

  it('s pauses kcopyd inside the first copy step and runs one worker pass per press', async () => {
    const { lastFrame, playNext, press, lesson, session, store, until } = await setup();
    const copyAt = nth('copy');
    for (let n = 1; n < copyAt; n++) await playNext();
    const scheduler = session.controller.session.kcopyd!.scheduler;

    await press('s');
    expect(scheduler.paused).toBe(true);
    store.flush();
    // The message line, the header and the narration all say so.
    let f = await waitForFrame(
      lastFrame,
      (x) => x.includes(`step ${copyAt}/${TOTAL} started with kcopyd paused`) && x.includes('kcopyd PAUSED'),
    );
    expect(f).toContain('running, kcopyd paused');

    // The job is submitted and waits for a worker pass that, paused, never comes by itself.
    await until(() => scheduler.pending.length > 0, 'a kcopyd pass pending');
    for (let i = 0; i < 100; i++) await tick();
    expect(lesson.getSnapshot().running).toBe(true);
    expect(scheduler.pending.length).toBeGreaterThan(0);

    let presses = 0;
    const passesBefore = store.getSnapshot().passes;
    // The copy's stage as the kcopyd panel shows it ("#1   scenar read  [...] 0/2+2"), once per pass.
    const stages: string[] = [];
    const WORD = {
      queued: 'queued',
      pages: 'pages',
      'read-queued': 'read-q',
      reading: 'reading',
      'write-queued': 'write-q',
      writing: 'writing',
      finishing: 'finish',
      complete: 'done',
    } as const;
    const stageNow = async (): Promise<void> => {
      store.flush();
      const job = [...store.getSnapshot().jobs.values()].find((j) => j.owner === 'scenario')!;
      const stage = WORD[job.stage];
      await waitForFrame(lastFrame, (x) => new RegExp(`#${job.id} +scenar\\S* +${stage}`).test(x));
      if (stages[stages.length - 1] !== stage) stages.push(stage);
    };
    while (lesson.getSnapshot().running) {
      await until(
        () => scheduler.pending.length > 0 || !lesson.getSnapshot().running,
        'a pass pending or the step done',
      );
      if (!lesson.getSnapshot().running) break;
      await stageNow();
      await press('s');
      presses++;
      if (presses === 1) {
        store.flush();
        f = await waitForFrame(lastFrame, (x) => x.includes('ran one worker pass of client'));
        expect(f).toContain('(scenario)'); // the copy step's own kcopyd client
      }
      expect(presses).toBeLessThan(200);
    }
    await lesson.settled();
    store.flush();
    // Every press ran exactly one full worker pass (the header's pass count is fed by kcopyd.pass events).
    expect(store.getSnapshot().passes - passesBefore).toBe(presses);
    await stageNow();
    // dm-kcopyd's order, one worker pass at a time: the job waits on pages_jobs; a pass gives its sub-jobs pages
    // and issues their reads, which complete and put them back on io_jobs to write; the next pass issues the writes,
    // which complete onto complete_jobs; the pass after runs their callbacks and the master's.
    expect(stages).toEqual(['queued', 'write-q', 'finish', 'done']);
    f = await waitForFrame(lastFrame, (x) => x.includes('ok: read_err=0 write_err=0x0'));
    expect(f).toContain(`step ${copyAt}/${TOTAL}: kcopyd copy`);
    // kcopyd stays paused; one s too many says the step is finished and plays nothing.
    expect(scheduler.paused).toBe(true);
    const played = lesson.getSnapshot().played;
    await press('s');
    f = await waitForFrame(lastFrame, (x) => x.includes(`step ${copyAt}/${TOTAL} is finished (ok): n plays the next`));
    expect(lesson.getSnapshot()).toMatchObject({ played, running: false });
    // p lets it run again.
    await press('p');
    expect(scheduler.paused).toBe(false);
  });

  it('a step that is not ok says why; an action that fails stops the lesson', async () => {
    const text = JSON.stringify({
      scenario: 1,
      title: 'two mistakes',
      steps: [
        { do: 'image', name: 'd', size: '1M' },
        { do: 'write', image: 'd', sector: 0, count: 8, byte: 1 },
        { do: 'read', image: 'd', sector: 0, count: 8, byte: 2, say: 'This check is wrong on purpose.' },
        { do: 'create', name: 'x', table: '0 8 no-such-target' },
        { do: 'note', say: 'never reached' },
      ],
    });
    const { lastFrame, playNext, press, lesson } = await setup('mistakes.json', text);
    for (let n = 1; n <= 3; n++) await playNext();
    // The check failed (sector 0 holds 0x01, not 0x02) but the lesson goes on.
    let f = await waitForFrame(lastFrame, (x) => x.includes('not ok: sector 0 is not'));
    expect(f).toContain('This check is wrong on purpose.');
    expect(f).toContain('Lesson 3/5 played, 1 not ok');
    expect(f).toContain('Errors and events (1 errors');
    expect(f).toMatch(/^.\d+ \S+ E lesson step 3\/5 not ok: sector 0/m);
    await playNext();
    f = await waitForFrame(lastFrame, (x) => x.includes('Lesson stopped at step 4: 4/5 played, 2 not ok. q quits'));
    expect(f).toMatch(/^not ok: EINVAL: .*no-such-target/m);
    expect(lesson.getSnapshot().ended).toBe('stopped');
    await press('n');
    await waitForFrame(lastFrame, (x) => x.includes('error: the lesson is over (4/5 steps played, 2 not ok)'));
  });

  it('a device failed by a fail step shows FAILED as the fail command does; heal takes it back', async () => {
    const text = JSON.stringify({
      scenario: 1,
      title: 'fail and heal',
      steps: [
        { do: 'image', name: 'd', size: '1M' },
        { do: 'create', name: 'leg', table: '0 2048 linear ${d} 0' },
        { do: 'fail', name: 'leg' },
        { do: 'heal', name: 'leg' },
      ],
    });
    const { lastFrame, playNext, store, until } = await setup('fail.json', text);
    const leg = () => {
      store.flush();
      return store.getSnapshot().devices.get('leg');
    };
    for (let n = 1; n <= 3; n++) await playNext();
    await until(() => leg()?.target === 'error', 'the error table under leg in the store');
    expect(leg()?.failed).toBe(true);
    await waitForFrame(lastFrame, (x) => /leg +error .*FAILED/.test(x));
    await playNext();
    await until(() => leg()?.target === 'linear', 'the linear table back under leg');
    expect(leg()?.failed).toBe(false);
    await waitForFrame(lastFrame, (x) => /leg +linear/.test(x) && !x.includes('FAILED'));
  });

  it("after a merge the old snapshot's map has no remapped chunk left (lesson 05)", async () => {
    const file = join(import.meta.dirname, '../../fixtures/lessons/05-snapshot-merge.json');
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { steps: Array<{ do: string; name?: string }> };
    const invalidAt = raw.steps.findIndex((x) => x.do === 'resume' && x.name === 'snap') + 2;
    const { playNext, store, lesson } = await setup(file);
    const remapped = (): number => {
      store.flush();
      const cells = store.getSnapshot().maps.get('snap')?.cells ?? new Map();
      return [...cells.values()].filter((c) => c === 'remapped').length;
    };
    for (let n = 1; n <= 9; n++) await playNext();
    // Before the merge: the five chunks the origin write touched (sectors 32..71, chunks of 8 sectors).
    expect(remapped()).toBe(5);
    for (let n = 10; n <= invalidAt; n++) await playNext();
    expect(lesson.getSnapshot().outcome).toMatchObject({
      ok: true,
      title: 'status of snap is: 0 2048 snapshot Invalid',
    });
    expect(remapped()).toBe(0);
  });

  it('after a restart step the panels show the re-created devices (lesson 04)', async () => {
    const file = join(import.meta.dirname, '../../fixtures/lessons/04-persistent-snapshot-restart.json');
    const raw = JSON.parse(readFileSync(file, 'utf8')) as { steps: Array<{ do: string; name?: string }> };
    const restartAt = raw.steps.findIndex((x) => x.do === 'restart') + 1;
    const { lastFrame, playNext, lesson, store, until } = await setup(file);
    for (let n = 1; n <= restartAt; n++) await playNext();
    expect(lesson.getSnapshot().outcome).toMatchObject({ number: restartAt, ok: true });
    // The devices the file made before the restart and did not remove.
    const alive = new Set<string>();
    for (const x of raw.steps.slice(0, restartAt)) {
      if (x.do === 'create') alive.add(x.name!);
      if (x.do === 'remove') alive.delete(x.name!);
    }
    // The lesson's own expectation after the restart: the transient (N) snapshot came back empty, the
    // persistent (P) one kept its 80 sectors of COW.
    await until(() => {
      store.flush();
      const d = store.getSnapshot().devices;
      return d.get('snapn')?.snapshot?.allocated === 0 && d.get('snapp')?.snapshot?.allocated === 80;
    }, 'the re-created snapshots in the store');
    expect([...store.getSnapshot().devices.keys()].sort()).toEqual([...alive].sort());
    await waitForFrame(lastFrame, (x) => x.includes(`Devices (${alive.size})`));
  });

  it('q in the middle of a paused copy closes the devices and removes the images and the socket directory', async () => {
    const { lastFrame, playNext, press, session, until } = await setup();
    // The step that creates a device over an image: its table names the image's path in the lesson's directory.
    const holeyAt = RAW.steps.findIndex((s) => s.do === 'create' && JSON.stringify(s.table).includes('${src}')) + 1;
    for (let n = 1; n <= holeyAt; n++) await playNext();
    const name = RAW.steps[holeyAt - 1]!.name!;
    await until(
      () => session.controller.store.getSnapshot().devices.get(name)?.table.includes('src.img') ?? false,
      `${name} in the store`,
    );
    const table = session.controller.store.getSnapshot().devices.get(name)!.table;
    const images = dirname(/(\/\S+\/src\.img)/.exec(table)![1]!);
    const socketDir = dirname(session.controller.session.client.socketPath);
    expect(existsSync(join(images, 'src.img'))).toBe(true);
    expect(existsSync(socketDir)).toBe(true);

    await press('s'); // the next step (a copy from that device) starts with kcopyd paused
    await until(() => session.controller.session.kcopyd!.scheduler.pending.length > 0, 'the copy waiting for a pass');
    await press('q');
    await session.controller.done;
    await waitForFrame(lastFrame, (x) => x.includes('quitting'));
    expect(existsSync(images)).toBe(false);
    expect(existsSync(socketDir)).toBe(false);
    expect(session.lesson.player.dm!.ls()).toEqual([]);
  });
});
