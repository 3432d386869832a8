// The runner and the player: a failing check is `not ok` with its reason and the run is not ok (dmsim run
// exits 1), a failed action bails out, an expected error is ok only with the right code, a step that never
// settles is reported instead of hanging, the TUI's step-by-step API (next, peek, kcopyd pause and step),
// and the same lesson against a daemon through --socket.

import { spawn } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/base/events.js';
import { ControlClient } from '../../src/control/client.js';
import { ControlDaemon } from '../../src/control/daemon.js';
import { ScenarioPlayer } from '../../src/scenario/player.js';
import { runScenario } from '../../src/scenario/run-scenario.js';
import { validateScenario } from '../../src/scenario/schema.js';
import { DeviceMapper } from '../../targets/device-mapper.js';

const REPO = resolve(import.meta.dirname, '../..');
const LESSONS = join(REPO, 'fixtures/lessons');

const scenario = (...steps: unknown[]) => ({ scenario: 1, title: 'runner test', steps });
const linear = [
  { do: 'image', name: 'disk', size: '64K' },
  { do: 'create', name: 'lin', table: '0 128 linear ${disk} 0' },
  { do: 'write', device: 'lin', sector: 0, count: 8, byte: '0xab' },
];

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

function tmp(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'dmsim-scenario-test-')).then((d) => {
    cleanups.push(() => rm(d, { recursive: true, force: true }));
    return d;
  });
}

async function scenarioDirs(): Promise<string[]> {
  return (await readdir(tmpdir())).filter(
    (n) => n.startsWith('dmsim-scenario-') && !n.startsWith('dmsim-scenario-test-'),
  );
}

describe('runScenario', () => {
  it('reports a failed check as not ok with the reason, goes on, and is not ok overall', async () => {
    const r = await runScenario(
      scenario(
        ...linear,
        { do: 'read', device: 'lin', sector: 0, count: 8, byte: '0xcd', say: 'This check is wrong on purpose.' },
        { do: 'expect-status', name: 'lin', match: '^0 128 linear' },
        { do: 'expect-table', name: 'lin', match: 'striped' },
      ),
    );
    expect(r.ok).toBe(false);
    expect(r.lines.slice(0, 3)).toEqual(['TAP version 13', '# runner test', '1..6']);
    expect(r.lines).toContain('# This check is wrong on purpose.');
    expect(r.lines).toContain('not ok 4 - read device lin sectors 0+8: expect 0xcd');
    expect(r.lines).toContain('#   reason: sector 0 is not 0xcd in every byte; found sectors 0-7: 0xab');
    expect(r.lines).toContain('ok 5 - status of lin matches /^0 128 linear/');
    expect(r.lines.find((l) => l.startsWith('not ok 6 - table of lin matches /striped/'))).toBeDefined();
    expect(r.lines.at(-1)).toBe('# failed: 4, 6');
  });

  it('bails out after a failed action: the steps after it are not run', async () => {
    const r = await runScenario(
      scenario(
        ...linear,
        { do: 'create', name: 'bad', table: '0 8 linear ${disk} 4096' },
        { do: 'note', say: 'never' },
      ),
    );
    expect(r.ok).toBe(false);
    expect(r.outcomes).toHaveLength(4);
    const failed = r.outcomes[3]!;
    expect(failed).toMatchObject({ ok: false, bail: true });
    expect(failed.reason).toMatch(/^EINVAL: /);
    expect(r.lines).toContain('Bail out! step 4 failed, and the steps after it depend on it');
    expect(r.lines.at(-1)).toBe('# failed: 4; not run: 1');
  });

  it('an expected error is ok only with the code (and message) asked for', async () => {
    const r = await runScenario(
      scenario(
        ...linear,
        { do: 'read', device: 'lin', sector: 128, count: 8, byte: 0, fails: 'EIO' },
        { do: 'read', device: 'lin', sector: 128, count: 8, byte: 0, fails: 'ENOSPC' },
        { do: 'read', device: 'lin', sector: 0, count: 8, byte: '0xab', fails: 'EIO' },
        { do: 'remove', name: 'lin', fails: { code: 'ENXIO' } },
        { do: 'remove', name: 'lin', fails: { code: 'ENXIO', match: 'no such device' } },
      ),
    );
    expect(r.outcomes.map((o) => o.ok)).toEqual([true, true, true, true, false, false, false, true]);
    expect(r.outcomes[4]!.reason).toMatch(/^expected ENOSPC, got EIO: .*beyond the end of the device/);
    expect(r.outcomes[5]!.reason).toBe('expected it to fail with EIO, but it succeeded');
    expect(r.outcomes[6]!.reason).toBe('expected it to fail with ENXIO, but it succeeded');
  });

  it('a wait that never comes true fails after its timeout; one on the wrong target fails at once', async () => {
    const r = await runScenario(
      scenario(
        ...linear,
        { do: 'wait', name: 'lin', for: 'status', match: 'never', timeout: 50 },
        { do: 'wait', name: 'lin', for: 'sync', timeout: 60000 },
      ),
    );
    expect(r.outcomes[3]).toMatchObject({
      ok: false,
      bail: false,
      reason: 'lin was not matching /never/ within 50 ms; last seen: 0 128 linear',
    });
    expect(r.outcomes[4]!.reason).toBe('lin can no longer be in sync: no mirror target in lin: 0 128 linear');
  });

  it('a step that never settles (a mirror write held for dmeventd) is reported, not hung on', async () => {
    const r = await runScenario(
      scenario(
        { do: 'image', name: 'a', size: '64K' },
        { do: 'image', name: 'b', size: '64K' },
        { do: 'create', name: 'leg1', table: '0 128 linear ${b} 0' },
        { do: 'create', name: 'm', table: '0 128 mirror core 1 64 2 ${a} 0 /dev/mapper/leg1 0 1 handle_errors' },
        { do: 'wait', name: 'm', for: 'sync' },
        { do: 'fail', name: 'leg1' },
        { do: 'write', device: 'm', sector: 0, count: 8, byte: 1 },
        { do: 'note' },
      ),
      { stepLimitMs: 300 },
    );
    expect(r.outcomes.at(-1)).toMatchObject({ number: 7, ok: false, bail: true });
    expect(r.outcomes.at(-1)!.reason).toMatch(/did not finish within 300 ms/);
  });

  it('removes its images when done', async () => {
    const before = new Set(await scenarioDirs());
    await runScenario(scenario(...linear));
    expect((await scenarioDirs()).filter((d) => !before.has(d))).toEqual([]);
  });

  it('refuses a file that does not exist, naming it', async () => {
    await expect(runScenario('/nonexistent/lesson.json')).rejects.toThrow(
      'cannot read the scenario /nonexistent/lesson.json: no such file',
    );
  });
});

describe('ScenarioPlayer (the TUI drives scenarios with it)', () => {
  it('plays one step per next(), with narration, and can pause kcopyd inside a copy step and step it', async () => {
    const s = validateScenario(
      scenario(
        { do: 'image', name: 'src', size: '1M', say: 'a source' },
        { do: 'image', name: 'dst', size: '1M' },
        { do: 'write', image: 'src', sector: 0, count: 2048, seed: 'x' },
        {
          do: 'copy',
          from: { image: 'src', sector: 0, count: 2048 },
          to: [{ image: 'dst', sector: 0 }],
          say: 'copy it',
        },
        { do: 'read', image: 'dst', sector: 0, count: 2048, seed: 'x' },
      ),
    );
    const player = ScenarioPlayer.embedded(s);
    cleanups.push(() => player.close());
    expect(player.peek()).toMatchObject({ number: 1, do: 'image', say: 'a source' });
    expect(await player.next()).toMatchObject({
      number: 1,
      ok: true,
      say: 'a source',
      title: 'image src (2048 sectors)',
    });
    await player.next();
    await player.next();
    expect(player.position).toBe(3);

    player.kcopyd.scheduler.pause();
    let settled = false;
    const copying = player.next().then((o) => {
      settled = true;
      return o;
    });
    let passes = 0;
    while (!settled && passes < 1000) {
      await new Promise((r) => setTimeout(r, 1));
      if (player.kcopyd.scheduler.step()) passes++;
    }
    const copied = await copying;
    expect(copied).toMatchObject({ number: 4, ok: true, say: 'copy it', detail: 'read_err=0 write_err=0x0' });
    expect(passes).toBeGreaterThan(1); // the copy only advanced when stepped
    player.kcopyd.scheduler.resume();
    expect(await player.next()).toMatchObject({ ok: true });
    expect(player.done).toBe(true);
    await expect(player.next()).rejects.toThrow('all 5 steps have been played');
  });

  it('gives the DeviceMapper of the moment: a restart step replaces it and tells listeners', async () => {
    const s = validateScenario(
      scenario(...linear, { do: 'restart' }, { do: 'read', device: 'lin', sector: 0, count: 8, byte: '0xab' }),
    );
    const bus = new EventBus();
    const player = ScenarioPlayer.embedded(s, { bus });
    cleanups.push(() => player.close());
    const engine = player.engine!;
    const restarted: unknown[] = [];
    player.onRestart((dm) => restarted.push(dm));
    for (let i = 0; i < 3; i++) await player.next();
    const before = player.dm;
    expect(before?.bus).toBe(bus);
    expect(await player.next()).toMatchObject({ ok: true, detail: 're-created lin' });
    expect(player.dm).not.toBe(before);
    expect(restarted).toEqual([player.dm]);
    expect(player.engine).toBe(engine); // one object across the restart, now speaking for the new DeviceMapper
    expect((await engine.status('lin'))[0]).toMatchObject({ target: 'linear', length: 128 });
    await expect(before!.status('lin')).rejects.toThrow('the device mapper was closed');
    expect(await player.next()).toMatchObject({ ok: true });
  });
});

describe('against a daemon (--socket)', () => {
  async function daemon(): Promise<string> {
    const dir = await tmp();
    const bus = new EventBus();
    const dm = new DeviceMapper({ bus });
    const d = new ControlDaemon({ engine: dm, bus, version: 'test' });
    const socket = join(dir, 'control');
    await d.listen(socket);
    cleanups.push(() => d.close());
    return socket;
  }

  it('plays a lesson through the control socket, copies included, and leaves no device behind', async () => {
    const socket = await daemon();
    const r = await runScenario(
      scenario(
        ...linear,
        { do: 'create', name: 'top', table: '0 128 linear /dev/mapper/lin 0' },
        { do: 'copy', from: { device: 'top', sector: 0, count: 8 }, to: [{ image: 'disk', sector: 64 }] },
        { do: 'read', image: 'disk', sector: 64, count: 8, byte: '0xab' },
      ),
      { socket },
    );
    expect(r.outcomes.filter((o) => !o.ok)).toEqual([]);
    const client = await ControlClient.connect(socket);
    try {
      expect(await client.request('ls', {})).toEqual([]); // top removed before lin
    } finally {
      client.close();
    }
  });

  it('refuses a scenario with a restart step before running anything', async () => {
    const socket = await daemon();
    await expect(runScenario(join(LESSONS, '04-persistent-snapshot-restart.json'), { socket })).rejects.toThrow(
      /04-persistent-snapshot-restart\.json: step 15 \(restart\): a daemon reached with --socket cannot be restarted by the runner/,
    );
  });
});

describe('dmsim run (spawned)', () => {
  function dmsim(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
    return new Promise((resolvePromise, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', join(REPO, 'src/cli/main.ts'), ...args], {
        cwd: REPO,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.once('error', reject);
      child.once('close', (code) => resolvePromise({ code, stdout, stderr }));
    });
  }

  it('plays a lesson and exits 0', async () => {
    const r = await dmsim('run', 'fixtures/lessons/03-snapshot-full.json');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines.slice(0, 3)).toEqual([
      'TAP version 13',
      '# a snapshot filling up: when the COW has no free chunk, the snapshot becomes Invalid',
      '1..19',
    ]);
    expect(lines.filter((l) => /^ok \d+ - /.test(l))).toHaveLength(19);
    expect(lines).toContain('ok 13 - status of snap is: 0 2048 snapshot Invalid');
    expect(lines.at(-1)).toBe('# all 19 steps ok');
  });

  it('exits 1 when a check fails, and refuses a bad scenario with one line naming the step', async () => {
    const dir = await tmp();
    const failing = join(dir, 'failing.json');
    await writeFile(
      failing,
      JSON.stringify(scenario(...linear, { do: 'read', device: 'lin', sector: 0, count: 8, byte: 0 })),
    );
    const r = await dmsim('run', failing);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('not ok 4 - read device lin sectors 0+8: expect 0x00');

    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify(scenario(...linear, { do: 'write', device: 'lin', sector: 0, count: 8 })));
    const b = await dmsim('run', bad);
    expect(b.code).toBe(1);
    expect(b.stdout).toBe('');
    expect(b.stderr).toBe(
      `dmsim: ${bad}: step 4 (write): give exactly one of "byte" or "seed" for the data to write\n`,
    );
  });
});
