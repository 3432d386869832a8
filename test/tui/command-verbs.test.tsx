// The command line's share of the CLI verbs (wait, flush, deps, clear, remove_all, targets, version, stats): each one
// through the real engine path (an embedded DeviceMapper behind its private control daemon), its output checked
// against the CLI's formatter applied to the daemon's own reply and, where one exists, against what the real
// kernel printed (fixtures/transcripts/kernel/); each usage error on the error line; `wait` leaving the UI free.

import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { formatDeps, formatTargets, formatVersion } from '../../src/control/dmsetup-format.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { App } from '../../tui/app.js';
import { parseCommand } from '../../tui/command/parse-command.js';
import { helpLines } from '../../tui/components/help-panel.js';
import { TuiController } from '../../tui/controller.js';
import { layout } from '../../tui/layout.js';
import { startEmbedded } from '../../tui/session.js';
import { ViewStore } from '../../tui/store/store.js';
import { initialState } from '../../tui/store/view-state.js';
import { demoState, fakeActions, tick, waitForFrame } from './frame-helpers.js';

const manualTimer = { setTimer: () => () => undefined };
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** The lines the kernel printed for one `$ command` of a recorded transcript (up to the next `$` or `#`). */
function kernelPrinted(transcript: string, command: string): string[] {
  const lines = readFileSync(
    new URL(`../../fixtures/transcripts/kernel/${transcript}.txt`, import.meta.url),
    'utf8',
  ).split('\n');
  const at = lines.indexOf(`$ ${command}`);
  if (at < 0) throw new Error(`no '${command}' in ${transcript}.txt`);
  const out: string[] = [];
  for (const l of lines.slice(at + 1)) {
    if (l.startsWith('$ ') || l.startsWith('# ')) break;
    out.push(l);
  }
  return out;
}

async function embedded() {
  const session = await startEmbedded({ makeEngine: (bus, kcopyd) => new DeviceMapper({ bus, kcopyd }) });
  const dir = await mkdtemp(join(tmpdir(), 'dmsim-tui-verbs-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const store = new ViewStore({ state: initialState(0), timer: manualTimer });
  const controller = new TuiController(session, store);
  await controller.start();
  cleanups.push(() => controller.quit());
  await controller.run(`mkimg ${dir}/d1.img 2048s`);
  await controller.run(`mkimg ${dir}/d2.img 2048s`);
  return { session, dir, controller, client: session.client, run: (l: string) => controller.run(l) };
}

describe('usage errors', () => {
  const refusals: Array<[string, string]> = [
    ['wait', 'wait: missing NAME; usage: wait NAME [EVENT_NR]'],
    ['wait m x1', "wait: EVENT_NR must be a whole number, not 'x1'"],
    ['wait m 1 2', "wait: unexpected '2'"],
    ['flush', 'flush: missing NAME; usage: flush NAME'],
    ['flush a b', "flush: unexpected 'b'"],
    ['clear', 'clear: missing NAME; usage: clear NAME'],
    ['deps a b', "deps: unexpected 'b'; usage: deps [NAME]"],
    ['remove_all a', "remove_all: unexpected 'a'; usage: remove_all [-f]"],
    ['targets all', "targets: unexpected 'all'; usage: targets"],
    ['version 2', "version: unexpected '2'; usage: version"],
  ];
  for (const [line, why] of refusals) {
    it(`refuses '${line}'`, () => {
      expect(() => parseCommand(line)).toThrow(why);
    });
  }

  it('parses the accepted forms', () => {
    expect(parseCommand('wait m')).toEqual({ verb: 'wait', args: { event: { name: 'm' } } });
    expect(parseCommand('wait m 3')).toEqual({ verb: 'wait', args: { event: { name: 'm', eventNr: 3 } } });
    expect(parseCommand('remove_all -f')).toEqual({ verb: 'remove_all', args: { force: true } });
    expect(parseCommand('remove_all')).toEqual({ verb: 'remove_all', args: { force: false } });
    expect(parseCommand('deps')).toEqual({ verb: 'deps', args: { naming: null } });
    expect(parseCommand('deps a')).toEqual({ verb: 'deps', args: { name: 'a', naming: null } });
    expect(parseCommand('deps -o devna a')).toEqual({ verb: 'deps', args: { name: 'a', naming: 'devname' } });
  });

  it('shows the refusal on the error line', async () => {
    const store = new ViewStore({ state: demoState() });
    const actions = fakeActions(async (line) => {
      parseCommand(line);
      return 'ok';
    });
    const r = render(<App store={store} actions={actions} colour={false} cols={100} rows={24} />);
    await tick();
    for (const ch of ':remove_all now\r') {
      r.stdin.write(ch);
      await tick();
    }
    await waitForFrame(r.lastFrame, (f) => f.includes("error: remove_all: unexpected 'now'; usage: remove_all [-f]"));
    r.unmount();
  });

  it('help lists every new verb and gives its usage', async () => {
    const { run } = await embedded();
    const all = await run('help');
    for (const v of [
      'wait NAME [EVENT_NR]',
      'flush NAME',
      'deps [NAME]',
      'clear NAME',
      'remove_all [-f]',
      'targets',
      'version',
    ])
      expect(all).toContain(v);
    expect(await run('help wait')).toMatch(/^usage: wait NAME \[EVENT_NR\]/);
    expect(helpLines(200, 100).join('\n')).toContain('  remove_all [-f]');
  });

  it('help at 80x24 shows every command word on screen (the legend is what a short screen cuts)', () => {
    const L = layout(80, 24);
    const rows = L.top + L.middle + L.log; // the height app.tsx gives the help outside a lesson
    const shown = helpLines(L.cols, rows).slice(0, rows).join('\n');
    for (const verb of ['create', 'status', 'inspect', 'stats', 'rename', 'splitname', 'mknodes', 'remove_all'])
      expect(shown).toMatch(new RegExp(`\\s${verb}(\\s|$)`, 'm'));
  });
});

describe('verbs through the engine', () => {
  it('status --explain names the fields and says why the line last changed (through the daemon, as the CLI)', async () => {
    const { run, dir, session } = await embedded();
    await run(`create o 0 2048 snapshot-origin ${dir}/d1.img`);
    await run(`suspend o`);
    await run(`create s 0 2048 snapshot ${dir}/d1.img ${dir}/d2.img P 8`);
    await run(`resume o`);
    const changed = new Promise<void>((resolve) => {
      const off = session.subscribe((e) => {
        if (e.type === 'status.changed' && e.device === 's') {
          off();
          resolve();
        }
      });
    });
    await run('write o 8 8 0xab');
    await changed;
    expect((await run('status --explain s')).split('\n')).toEqual([
      '0 2048 snapshot 24/2048 16',
      '  sectors_allocated: 24',
      '  total_sectors: 2048',
      '  metadata_sectors: 16',
      expect.stringMatching(/^last change \(/),
      '  old: 0 2048 snapshot 16/2048 16',
      '  new: 0 2048 snapshot 24/2048 16',
      '  sectors_allocated 16→24',
      expect.stringMatching(
        /^ {2}because: exception for origin chunk 1 prepared in COW chunk 2 \(origin write\); its COW copy is kcopyd job \d+$/,
      ),
    ]);
    await expect(run('status --explain')).rejects.toThrow(/--explain takes one device NAME/);
  });

  it('deps prints what the CLI prints, in the kernel layout', async () => {
    const { run, client, dir } = await embedded();
    await run(`create a 0 1024 linear ${dir}/d1.img 0; 1024 1024 linear ${dir}/d2.img 0`);
    await run('create b 0 2048 linear /dev/mapper/a 0');
    await run('create z 0 8 zero');
    const one = await run('deps a');
    expect(one).toBe(formatDeps(await client.request('deps', { name: 'a' }), false).trimEnd());
    // The kernel's layout: "2 dependencies\t: (254, 16) (254, 0)" (dmsim names devices as the table did).
    expect(kernelPrinted('deps', 'dmsim deps a')[0]).toMatch(/^2 dependencies\t: \(.+\) \(.+\)$/);
    expect(one).toMatch(/^2 dependencies\t: \(.+\) \(.+\)$/);
    const all = await run('deps');
    expect(all).toBe(formatDeps(await client.request('deps', {}), true).trimEnd());
    expect(all.split('\n').map((l) => l.replace(/\(.*/, ''))).toEqual(
      kernelPrinted('deps', 'dmsim deps')
        .filter((l) => l !== '')
        .map((l) => l.replace(/\(.*/, '')),
    );
  });

  it('targets and version print what the CLI prints; targets the kernel prints, version its driver line', async () => {
    const { run, client } = await embedded();
    const targets = await run('targets');
    expect(targets).toBe(formatTargets(await client.request('targets', {})).trimEnd());
    const kernel = kernelPrinted('misc', 'dmsim targets #kernel-subset');
    for (const name of ['zero', 'linear', 'error', 'snapshot', 'mirror']) {
      expect(targets.split('\n')).toContain(kernel.find((l) => l.startsWith(`${name} `)));
    }
    const version = await run('version');
    expect(version).toBe(formatVersion(await client.request('version', {})).trimEnd());
    expect(version.split('\n')[1]).toBe(kernelPrinted('misc', 'dmsim version #kernel-differs')[1]);
  });

  it('clear drops the inactive table (info: LIVE & INACTIVE, then LIVE, as the kernel printed)', async () => {
    const { run, dir } = await embedded();
    await run(`create lin 0 1024 linear ${dir}/d1.img 0`);
    await run(`load lin 0 2048 linear ${dir}/d1.img 0`);
    const tables = (text: string) => text.split('\n').find((l) => l.startsWith('Tables present:'));
    expect(tables(await run('info lin'))).toBe(tables(kernelPrinted('inactive', 'dmsim info lin').join('\n')));
    expect(await run('clear lin')).toBe('cleared the inactive table of lin');
    expect(tables(await run('info lin'))).toBe('Tables present:    LIVE');
    await expect(run('clear nosuch')).rejects.toThrow(/nosuch/);
  });

  it('stats creates a region, counts a write in the area it falls in, and deletes it', async () => {
    const { run, dir } = await embedded();
    await run(`create lin 0 2048 linear ${dir}/d1.img 0`);
    expect(await run('stats create lin --areas 2')).toBe('lin: Created new region with 2 area(s) as region ID 0');
    await run('write lin 0 8 0xab');
    const printed = (await run('stats print lin --regionid 0')).split('\n');
    // One write of 8 sectors in the first area, nothing in the second; nothing left in flight.
    expect(
      printed.map((l) =>
        l
          .split(' ')
          .filter((_, i) => [0, 5, 7, 9].includes(i))
          .join(' '),
      ),
    ).toEqual(['0+1024 1 8 0', '1024+1024 0 0 0']);
    expect(await run('stats delete lin --allregions')).toBe('stats delete: done');
    await expect(run('stats print lin --regionid 0')).rejects.toThrow('Region ID 0 does not exist');
  });

  it('flush goes to the device; a missing device is refused', async () => {
    const { run, dir } = await embedded();
    await run(`create lin 0 1024 linear ${dir}/d1.img 0`);
    expect(await run('flush lin')).toBe('flushed lin');
    await expect(run('flush nosuch')).rejects.toThrow(/nosuch/);
  });

  for (const force of [false, true]) {
    it(`remove_all${force ? ' -f' : ''} removes every device, stacked ones too (ls then prints the kernel's "No devices found")`, async () => {
      const { run, dir, controller } = await embedded();
      await run(`create a 0 1024 linear ${dir}/d1.img 0`);
      await run('create b 0 1024 linear /dev/mapper/a 0');
      await run('create z 0 8 zero');
      await run('fail z');
      expect(await run(force ? 'remove_all -f' : 'remove_all')).toBe('removed all devices (a, b, z)');
      expect(await run('ls')).toBe(kernelPrinted('misc', 'dmsim ls')[0]);
      controller.store.flush();
      expect([...controller.store.getSnapshot().devices.keys()]).toEqual([]);
      expect(await run('remove_all')).toBe('no devices to remove');
      // fail's saved table went with the device: a new z can fail again.
      await run('create z 0 8 zero');
      expect(await run('fail z')).toContain('z now fails');
    });
  }

  it('wait resolves when the event arrives, while other commands keep running (kernel: event number 1 after a mirror syncs)', async () => {
    const { run, dir, controller } = await embedded();
    controller.pause(); // the mirror's resync cannot finish, so its event cannot come yet
    await run(`create m 0 2048 mirror core 1 512 2 ${dir}/d1.img 0 ${dir}/d2.img 0`);
    let waited: string | undefined;
    const waiting = run('wait m').then((out) => (waited = out));
    expect(await run('ls')).toMatch(/^m\t/);
    expect(await run('version')).toContain('Driver version:');
    expect(waited).toBeUndefined();
    controller.unpause();
    await waiting;
    const eventNr = kernelPrinted('wait', 'dmsim info m')
      .find((l) => l.startsWith('Event number:'))!
      .split(/\s+/)
      .pop();
    expect(waited).toBe(`m: event number ${eventNr}`);
  });

  it('wait --for sync (the words dmsim takes) resolves once the mirror is in sync, with its status line', async () => {
    const { run, dir, controller } = await embedded();
    controller.pause();
    await run(`create m 0 2048 mirror core 1 512 2 ${dir}/d1.img 0 ${dir}/d2.img 0`);
    let waited: string | undefined;
    const waiting = run('wait m --for sync').then((out) => (waited = out));
    expect(await run('ls')).toMatch(/^m\t/);
    expect(waited).toBeUndefined();
    controller.unpause();
    await waiting;
    expect(waited).toMatch(/^m is in sync: 0 2048 mirror 2 \S+ \S+ 4\/4 1 AA 1 core$/);
  });
});

describe('wait on the screen', () => {
  it('the UI takes more lines while a wait is pending, and shows its result when it arrives', async () => {
    const store = new ViewStore({ state: demoState() });
    let arrive!: (s: string) => void;
    const actions = fakeActions((line) =>
      line.startsWith('wait') ? new Promise<string>((r) => (arrive = r)) : Promise.resolve(`ran ${line}`),
    );
    const r = render(<App store={store} actions={actions} colour={false} cols={80} rows={24} />);
    await tick();
    const type = async (s: string) => {
      for (const ch of s) {
        r.stdin.write(ch);
        await tick();
      }
    };
    await type(':wait base\r');
    await waitForFrame(r.lastFrame, (f) => f.includes('running: wait base'));
    await type('ls\r');
    await waitForFrame(r.lastFrame, (f) => f.includes('ran ls'));
    arrive('base: event number 1');
    await waitForFrame(r.lastFrame, (f) => f.includes('base: event number 1'));
    expect(actions.calls).toEqual(['run wait base', 'run ls']);
    r.unmount();
  });
});
