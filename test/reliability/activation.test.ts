// `dmsim daemon --state`: the state file's format and refusals, stacking order, and what a restart brings back.
// Expectations: LVM activation order (a device after the mapped devices its table names), the kernel's
// documented reboot behaviour (reference/snapshot.md §3: a transient store starts at `0/<total> 0`;
// reference/mirror.md §3: a core log resyncs every region at each activation, a disk log only its dirty ones),
// and the daemon's promise never to drop a recorded device silently.

import { promises as fsp } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/base/events.js';
import { activate, activationOrder } from '../../src/control/activation.js';
import { ControlClient } from '../../src/control/client.js';
import { RecordingEngine } from '../../src/control/recording-engine.js';
import {
  parseState,
  type RecordedDevice,
  readStateFile,
  StateFileError,
  writeStateFile,
} from '../../src/control/state-file.js';
import { socketAnswers } from '../../src/net/unix-socket.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { runCli } from '../support/daemon-process.js';
import { onBus, onFileChange, waitFor } from '../support/wait.js';
import { makeImage } from './support/files.js';
import { writeData } from './support/sector-model.js';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dmsim-activation-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const dev = (name: string, table: string[], minor = 0): RecordedDevice => ({ name, readOnly: false, minor, table });

describe('state file: format', () => {
  const good = {
    format: 'dmsim-state',
    version: 1,
    devices: [{ name: 'a', readOnly: false, minor: 0, table: ['0 8 zero'] }],
  };
  it('reads back what it wrote, atomically (no temporary file left, 0600)', async () => {
    const path = join(dir, 'state.json');
    const devices = [dev('a', ['0 8 zero']), { ...dev('b', [], 1), uuid: 'U-1', readOnly: true }];
    await writeStateFile(path, { devices });
    expect(await readStateFile(path)).toEqual({ devices });
    expect(await fsp.readdir(dir)).toEqual(['state.json']);
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });
  it('a missing file is a first start: no devices', async () => {
    expect(await readStateFile(join(dir, 'none.json'))).toBeNull();
  });
  it.each([
    ['', /not valid JSON/],
    ['{"format":"dmsim-state","version":1,"devices":[{"name":"a"', /not valid JSON/],
    ['[]', /expected a JSON object/],
    [JSON.stringify({ ...good, format: 'lvm' }), /"format" is "lvm"/],
    [JSON.stringify({ ...good, version: 3 }), /version 3 is not supported \(this dmsim reads versions 1 to 2\)/],
    [JSON.stringify({ ...good, devices: {} }), /"devices" must be an array/],
    [JSON.stringify({ ...good, devices: [good.devices[0], good.devices[0]] }), /device a is listed twice/],
    [JSON.stringify({ ...good, devices: [{ ...good.devices[0], name: '' }] }), /devices\[0\]\.name/],
    [
      JSON.stringify({ ...good, devices: [{ ...good.devices[0], table: ['0 8 zero\n8 8 zero'] }] }),
      /devices\[0\]\.table/,
    ],
    [JSON.stringify({ ...good, devices: [{ ...good.devices[0], readOnly: 'no' }] }), /devices\[0\]\.readOnly/],
    [JSON.stringify({ ...good, devices: [{ ...good.devices[0], minor: -1 }] }), /devices\[0\]\.minor/],
    [JSON.stringify({ ...good, devices: [{ ...good.devices[0], size: 8 }] }), /unknown field\(s\) size/],
  ])('refuses %j with EINVAL naming the problem', (text, reason) => {
    let err: unknown;
    try {
      parseState('/x/state.json', text);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(StateFileError);
    expect((err as StateFileError).code).toBe('EINVAL');
    expect((err as Error).message).toMatch(reason);
    expect((err as Error).message).toMatch(/^state file \/x\/state\.json: .*the daemon will not start/);
  });
});

describe('activation order', () => {
  it('creates a device after every mapped device its table names, else in recorded order', () => {
    // Recorded top first, as a file edited by hand might be: LVM would still create base, then the rest.
    const devices = [
      dev('top', ['0 8 linear /dev/mapper/mid 0', '8 8 linear 253:0 0'], 2),
      dev('z-plain', ['0 8 zero'], 3),
      dev('mid', ['0 16 snapshot-origin /dev/mapper/base'], 1),
      dev('base', ['0 16 linear /tmp/x 0'], 0),
    ];
    expect(activationOrder(devices).map((d) => d.name)).toEqual(['base', 'mid', 'top', 'z-plain']);
  });
});

/** A DeviceMapper behind a RecordingEngine, activated from the state file as the daemon does at start. */
async function boot(
  state: string,
  bus = new EventBus(),
): Promise<{ dm: DeviceMapper; engine: RecordingEngine; failed: string[] }> {
  const dm = new DeviceMapper({ bus });
  const recorded = (await readStateFile(state))?.devices ?? [];
  const results = await activate(dm, recorded);
  const failed = results.filter((r) => !r.ok).map((r) => r.name);
  const engine = new RecordingEngine(dm, state, recorded, failed);
  await engine.record();
  return { dm, engine, failed };
}

/** Waits until both mirrors of the test report all 4 regions in sync. */
function allInSync(dm: DeviceMapper, what: string): Promise<void> {
  return waitFor(
    `${what}: every mirror at 4/4`,
    async () => (await dm.status()).every((l) => l.params.includes(' 4/4 ')) || undefined,
    onBus(dm.bus),
    async () => (await dm.status()).map((l) => `${l.name}: ${l.params}`).join('\n'),
  ).then(() => undefined);
}

describe('restart: what comes back', () => {
  it('persistent snapshot keeps its exceptions; transient starts over at 0/<total> 0 and reads the origin', async () => {
    const O = 256;
    const origin = join(dir, 'origin.img');
    const [cowP, cowN] = [join(dir, 'p.img'), join(dir, 'n.img')];
    await makeImage(origin, writeData(0, O, 0));
    await makeImage(cowP, 256 * 512);
    await makeImage(cowN, 256 * 512);
    const state = join(dir, 'state.json');
    const first = await boot(state);
    await first.engine.create('base', `0 ${O} linear ${origin} 0`);
    await first.engine.create('snapP', `0 ${O} snapshot /dev/mapper/base ${cowP} P 8`);
    await first.engine.create('snapN', `0 ${O} snapshot /dev/mapper/base ${cowN} N 8`);
    await first.engine.create('origin', `0 ${O} snapshot-origin /dev/mapper/base`);
    const od = await first.dm.open('origin');
    await od.write(0, writeData(0, 16, 7)); // two chunks copied to each snapshot
    await od.close();
    expect((await first.dm.status()).map((l) => `${l.name} ${l.params}`)).toEqual([
      'base ',
      'origin ',
      'snapN 16/256 0',
      'snapP 32/256 16',
    ]);
    await first.dm.close();

    const second = await boot(state);
    expect(second.failed).toEqual([]);
    // persistent: 16 metadata + 2 exceptions of 8; transient: a fresh store (reference/snapshot.md §3).
    expect((await second.dm.status()).map((l) => `${l.name} ${l.params}`)).toEqual([
      'base ',
      'origin ',
      'snapN 0/256 0',
      'snapP 32/256 16',
    ]);
    const buf = Buffer.alloc(16 * 512);
    await (await second.dm.open('snapP')).read(0, buf);
    expect(buf.equals(writeData(0, 16, 0))).toBe(true);
    await (await second.dm.open('snapN')).read(0, buf);
    expect(buf.equals(writeData(0, 16, 7))).toBe(true); // the transient exceptions are gone: it reads the origin now
    await second.dm.close();
  });

  it('an origin recorded before its snapshot still splits writes by chunk after a restart (LVM resumes the origin last)', async () => {
    const origin = join(dir, 'origin.img');
    const cow = join(dir, 'cow.img');
    await makeImage(origin, writeData(0, 256, 0));
    await makeImage(cow, 256 * 512);
    const state = join(dir, 'state.json');
    const first = await boot(state);
    await first.engine.create('origin', `0 256 snapshot-origin ${origin}`); // first, as a user would
    await first.engine.suspend('origin');
    await first.engine.create('snap', `0 256 snapshot ${origin} ${cow} P 8`);
    await first.engine.resume('origin');
    await first.dm.close();

    const second = await boot(state);
    const od = await second.dm.open('origin');
    await od.write(0, writeData(0, 64, 7)); // one write over 8 chunks
    await od.close();
    expect((await second.dm.status('snap'))[0]!.params).toBe('80/256 16'); // 16 metadata + 8 exceptions of 8
    const buf = Buffer.alloc(64 * 512);
    await (await second.dm.open('snap')).read(0, buf);
    expect(buf.equals(writeData(0, 64, 0))).toBe(true);
    await second.dm.close();
  });

  it('a persistent snapshot that overflowed comes back Invalid (reference/snapshot.md: invalidation is written to the COW header)', async () => {
    const origin = join(dir, 'origin.img');
    const cow = join(dir, 'cow.img');
    await makeImage(origin, writeData(0, 256, 0));
    await makeImage(cow, 40 * 512); // header + one metadata area + 3 chunks of 8
    const state = join(dir, 'state.json');
    const first = await boot(state);
    await first.engine.create('origin', `0 256 snapshot-origin ${origin}`);
    await first.engine.suspend('origin');
    await first.engine.create('snap', `0 256 snapshot ${origin} ${cow} P 8`);
    await first.engine.resume('origin');
    const od = await first.dm.open('origin');
    await od.write(0, writeData(0, 64, 7)); // 8 chunks: more than the COW holds
    await od.close();
    expect((await first.dm.status('snap'))[0]!.params).toBe('Invalid');
    await first.dm.close();
    const second = await boot(state);
    expect(second.failed).toEqual([]);
    expect((await second.dm.status('snap'))[0]!.params).toBe('Invalid');
    await second.dm.close();
  });

  it('a core-log mirror resyncs every region after a restart, a disk-log mirror none after a clean stop', async () => {
    const M = 256;
    const files = ['ca', 'cb', 'da', 'db', 'log'].map((f) => join(dir, `${f}.img`));
    for (const f of files.slice(0, 4)) await makeImage(f, writeData(0, M, 0));
    await makeImage(files[4]!, 8192);
    const [ca, cb, da, db, log] = files;
    const state = join(dir, 'state.json');
    const first = await boot(state);
    await first.engine.create('core', `0 ${M} mirror core 1 64 2 ${ca} 0 ${cb} 0`);
    await first.engine.create('disk', `0 ${M} mirror disk 2 ${log} 64 2 ${da} 0 ${db} 0`);
    await allInSync(first.dm, 'the initial resync');
    await first.dm.close();

    const bus = new EventBus();
    const recovered: Record<string, number[]> = { core: [], disk: [] };
    bus.on((e) => {
      if (e.type === 'mirror.recovery' && (e as { phase?: string }).phase === 'start') {
        recovered[(e as { device: string }).device]!.push((e as { region: number }).region);
      }
    });
    const second = await boot(state, bus);
    await allInSync(second.dm, 'the resync after the restart');
    expect(recovered).toEqual({ core: [0, 1, 2, 3], disk: [] });
    await second.dm.close();
  });

  it('a device that cannot come back is reported, the others come up, and the file keeps it until removed', async () => {
    const a = join(dir, 'a.img');
    const gone = join(dir, 'gone.img');
    await makeImage(a, 64 * 512);
    await makeImage(gone, 64 * 512);
    const state = join(dir, 'state.json');
    const first = await boot(state);
    await first.engine.create('lost', `0 64 linear ${gone} 0`);
    await first.engine.create('above', `0 64 linear /dev/mapper/lost 0`);
    await first.engine.create('kept', `0 64 linear ${a} 0`);
    await first.dm.close();
    await rm(gone);

    const second = await boot(state);
    expect(second.failed.sort()).toEqual(['above', 'lost']);
    expect(second.dm.ls().map((d) => d.name)).toEqual(['kept']);
    expect(((await readStateFile(state))?.devices ?? []).map((d) => d.name)).toEqual(['lost', 'above', 'kept']);
    await second.dm.close();

    await makeImage(gone, 64 * 512); // the disk is back: so are both devices
    const third = await boot(state);
    expect(
      third.dm
        .ls()
        .map((d) => d.name)
        .sort(),
    ).toEqual(['above', 'kept', 'lost']);
    await third.engine.remove('above');
    expect(((await readStateFile(state))?.devices ?? []).map((d) => d.name)).toEqual(['lost', 'kept']);
    await third.dm.close();
    await rm(gone);

    const fourth = await boot(state);
    expect(fourth.failed).toEqual(['lost']);
    await fourth.engine.remove('lost'); // forgets a device that did not come back
    expect(((await readStateFile(state))?.devices ?? []).map((d) => d.name)).toEqual(['kept']);
    await fourth.dm.close();
  });
});

describe('rename: what the file records', () => {
  it('a renamed device comes back under its new name with its uuid, and the table over it still uses it', async () => {
    const a = join(dir, 'a.img');
    await makeImage(a, writeData(0, 64, 3));
    const state = join(dir, 'state.json');
    const first = await boot(state);
    await first.engine.create('base', `0 64 linear ${a} 0`);
    await first.engine.create('top', '0 64 linear /dev/mapper/base 0');
    await first.engine.rename('base', { newName: 'moved' });
    await first.engine.rename('moved', { uuid: 'U-MOVED' });
    // The kernel's table holds the device, not its name (dmsetup table prints 253:0, the device now called moved).
    expect((await first.dm.table('top'))[0]!.params).toBe('/dev/mapper/moved 0');
    expect(((await readStateFile(state))?.devices ?? []).map((d) => [d.name, d.uuid, d.table])).toEqual([
      ['moved', 'U-MOVED', [`0 64 linear ${a} 0`]],
      ['top', undefined, ['0 64 linear /dev/mapper/moved 0']],
    ]);
    await first.dm.close();

    const second = await boot(state);
    expect(second.failed).toEqual([]);
    expect((await second.dm.info()).map((i) => [i.name, i.uuid])).toEqual([
      ['moved', 'U-MOVED'],
      ['top', undefined],
    ]);
    const buf = Buffer.alloc(64 * 512);
    await (await second.dm.open('top')).read(0, buf);
    expect(buf.equals(writeData(0, 64, 3))).toBe(true);
    await second.dm.close();
  });
});

describe('state file version 1 (no bindings)', () => {
  it('a 253:MINOR word means the device recorded with that minor, and the next record says so by name', async () => {
    const [img1, img2] = [join(dir, 'img1'), join(dir, 'img2')];
    await makeImage(img1, 64 * 512);
    await makeImage(img2, 64 * 512);
    const state = join(dir, 'state.json');
    // As version 1 recorded the stack: p (minor 0) removed, q 1, r 2, top 0 on 253:1.
    const v1 = [
      dev('q', [`0 64 linear ${img1} 0`], 1),
      dev('r', [`0 64 linear ${img2} 0`], 2),
      dev('top', ['0 64 linear 253:1 0'], 0),
    ];
    await writeFile(state, JSON.stringify({ format: 'dmsim-state', version: 1, devices: v1 }));
    const { dm, failed } = await boot(state);
    expect(failed).toEqual([]);
    const q = dm.ls().find((d) => d.name === 'q')!.minor;
    expect(q).not.toBe(1); // activation handed out other minors (q 0, r 1, top 2)
    expect((await dm.table('top'))[0]!.params).toBe(`253:${q} 0`);
    const written = await readStateFile(state);
    expect(written?.devices.find((d) => d.name === 'top')).toMatchObject({
      table: [`0 64 linear 253:${q} 0`],
      bindings: { [`253:${q}`]: '/dev/mapper/q' },
    });
    expect(JSON.parse(await readFile(state, 'utf8')).version).toBe(2);
    await dm.close();
  });
});

describe('dmsim daemon --state: the process', () => {
  it('--detach passes --state on: the background daemon activates the recorded devices', async () => {
    const state = join(dir, 'state.json');
    const img = join(dir, 'a.img');
    await makeImage(img, 64 * 512);
    await writeStateFile(state, { devices: [dev('a', [`0 64 linear ${img} 0`])] });
    const socket = join(dir, 'control');
    const r = await runCli(['daemon', '--detach', '--socket', socket, '--state', state]);
    expect(r.status, r.stderr).toBe(0);
    const pid = Number(r.stdout.trim());
    try {
      const c = await ControlClient.connect(socket);
      expect(
        (await c.request('table', {})).map((l) => `${l.name}: ${l.start} ${l.length} ${l.target} ${l.params}`),
      ).toEqual([`a: 0 64 linear ${img} 0`]);
      c.close();
    } finally {
      process.kill(pid, 'SIGTERM');
      await waitFor(
        `daemon ${pid} to close its socket after SIGTERM`,
        async () => ((await socketAnswers(socket)) ? undefined : true),
        onFileChange(dir),
        () => `the socket ${socket} still answers`,
      );
    }
  });

  it('refuses to start on a state file that does not parse, and leaves the file as it was', async () => {
    const state = join(dir, 'state.json');
    const text =
      '{"format":"dmsim-state","version":1,"devices":[{"name":"a","readOnly":false,"minor":0,"table":["0 8 zero"]}';
    await writeFile(state, text);
    const r = await runCli(['daemon', '--socket', join(dir, 'control'), '--state', state]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/^dmsim: state file .*state\.json: not valid JSON .*the daemon will not start/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(await readFile(state, 'utf8')).toBe(text);
    await expect(stat(join(dir, 'control'))).rejects.toThrow(/ENOENT/);
  });
});
