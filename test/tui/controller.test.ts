// The controller against the real engine: an embedded DeviceMapper behind its private control socket, and a
// separate daemon it attaches to. Commands run, refusals come back with the engine's reason, fail/heal swap
// tables, pause + step run exactly one kcopyd worker pass, and quitting removes the private socket.

import { existsSync } from 'node:fs';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/base/events.js';
import { ControlDaemon } from '../../src/control/daemon.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { TuiController } from '../../tui/controller.js';
import { attach, startEmbedded } from '../../tui/session.js';
import { deviceTree } from '../../tui/store/devices.js';
import { ViewStore } from '../../tui/store/store.js';
import { initialState } from '../../tui/store/view-state.js';
import { frameRequests, waitFor } from '../support/wait.js';

const manualTimer = { setTimer: () => () => undefined };
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function embedded() {
  const session = await startEmbedded({
    makeEngine: (bus, kcopyd) => new DeviceMapper({ bus, kcopyd }),
  });
  const store = new ViewStore({ state: initialState(0), timer: manualTimer });
  const controller = new TuiController(session, store);
  await controller.start();
  cleanups.push(() => controller.quit());
  const dir = await mkdtemp(join(tmpdir(), 'dmsim-tui-test-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return {
    session,
    store,
    controller,
    dir,
    state: () => {
      store.flush();
      return store.getSnapshot();
    },
  };
}

describe('embedded engine', () => {
  it('create, status and remove through the command line; the store follows', async () => {
    const { controller, dir, state } = await embedded();
    expect(await controller.run(`mkimg ${dir}/a.img 1M`)).toBe(`${dir}/a.img: 2048 sectors (1048576 bytes), sparse`);
    expect(await controller.run(`create lin 0 2048 linear ${dir}/a.img 0`)).toBe('created lin');
    expect(await controller.run('status lin')).toBe('0 2048 linear ');
    expect(state().devices.get('lin')).toMatchObject({ target: 'linear', sizeSectors: 2048, state: 'ACTIVE' });
    await controller.run('suspend lin');
    expect(state().devices.get('lin')!.state).toBe('SUSPENDED');
    await controller.run('resume lin');
    expect(await controller.run('write lin 8 8 0xab')).toBe('wrote 8 sectors of 0xab at sector 8 of lin');
    expect(await controller.run('read lin 0 24')).toBe(
      'read 24 sectors at 0 of lin: 0x00 x4096, 0xab x4096, 0x00 x4096',
    );
    await controller.run('remove lin');
    expect(state().devices.has('lin')).toBe(false);
  });

  it('refusals carry the engine reason: a bad table, an unknown device, an I/O past the end', async () => {
    const { controller } = await embedded();
    await expect(controller.run('create z 0 100 nosuchtarget')).rejects.toThrow(/nosuchtarget/);
    await expect(controller.run('remove ghost')).rejects.toMatchObject({ code: 'ENXIO' });
    await controller.run('create z 0 16 zero');
    await expect(controller.run('read z 8 16')).rejects.toThrow(/beyond the end|past the end|end of the device/);
    await expect(controller.run('heal z')).rejects.toThrow('z was not failed with "fail z"; nothing to restore');
  });

  it('fail swaps an error table under a device and heal puts the old table back', async () => {
    const { controller, dir, state } = await embedded();
    await controller.run(`mkimg ${dir}/b.img 64K`);
    await controller.run(`create leg 0 128 linear ${dir}/b.img 0`);
    await controller.run('fail leg');
    expect(await controller.run('table leg')).toBe('0 128 error ');
    expect(state().devices.get('leg')).toMatchObject({ failed: true, target: 'error' });
    await expect(controller.run('read leg 0 8')).rejects.toMatchObject({ code: 'EIO' });
    await expect(controller.run('fail leg')).rejects.toThrow('leg has already failed; heal leg first');
    await controller.run('heal leg');
    expect(await controller.run('table leg')).toBe(`0 128 linear ${dir}/b.img 0`);
    expect(state().devices.get('leg')).toMatchObject({ failed: false, target: 'linear' });
    expect(state().log.errors).toBeGreaterThan(0); // the failed read is an io.error event
  });

  it('copy runs one kcopyd job; while paused, each step runs exactly one worker pass', async () => {
    const { controller, dir, state, session } = await embedded();
    await controller.run(`mkimg ${dir}/src.img 1M`);
    await controller.run(`mkimg ${dir}/dst.img 1M`);
    expect(controller.step()).toBe('kcopyd is running: press p to pause it, then s to step');
    expect(await controller.run(`copy ${dir}/src.img:0+2048 ${dir}/dst.img:0`)).toBe(
      'copied 2048 sectors: read_err=0 write_err=0x0',
    );
    const job = [...state().jobs.values()].find((j) => j.owner === 'copy')!;
    expect(job).toMatchObject({ stage: 'complete', totalSectors: 2048, chunks: 2, subDone: 2 });

    expect(controller.togglePause()).toBe('kcopyd paused: s steps one worker pass, p resumes');
    expect(state().paused).toBe(true);
    const copying = controller.run(`copy ${dir}/src.img:0+16 ${dir}/dst.img:1024`);
    // Submitting wakes the new client's worker; nothing runs until a step.
    while (session.kcopyd!.scheduler.pending.length === 0) await new Promise((r) => setImmediate(r));
    const before = state().passes;
    expect(controller.step()).toMatch(/^ran one worker pass of client \d+ \(copy\)/);
    expect(state().passes).toBe(before + 1);
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r)); // I/O completes, wakes pile up...
    expect(state().passes).toBe(before + 1); // ...but no pass runs without a step
    controller.togglePause();
    expect(await copying).toBe('copied 16 sectors: read_err=0 write_err=0x0');
  });

  it('quitting closes the engine and removes the private socket', async () => {
    const { controller, session } = await embedded();
    const socketDir = dirname(session.client.socketPath);
    expect(existsSync(socketDir)).toBe(true);
    await controller.quit();
    await controller.quit(); // twice is harmless
    expect(existsSync(socketDir)).toBe(false);
  });
});

describe('attached to a daemon', () => {
  it('shows the daemon devices, follows its events, runs verbs, and refuses pause, step and copy', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dmsim-tui-attach-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const bus = new EventBus();
    const dm = new DeviceMapper({ bus });
    const daemon = new ControlDaemon({ engine: dm, bus, version: 'test' });
    await daemon.listen(join(dir, 'control.sock'));
    cleanups.push(() => daemon.close());
    await dm.create('before', '0 64 zero');

    const session = await attach(join(dir, 'control.sock'));
    const frames = frameRequests();
    const store = new ViewStore({ state: initialState(0), timer: frames.timer });
    const controller = new TuiController(session, store, 'attached');
    await controller.start();
    cleanups.push(() => controller.quit());
    store.flush();
    expect(deviceTree(store.getSnapshot().devices).map((r) => r.device.name)).toEqual(['before']);

    // A device made by someone else reaches the screen through the event stream.
    await dm.create('other', '0 32 zero');
    await waitFor(
      "device 'other' in the TUI's view",
      () => {
        store.flush();
        return store.getSnapshot().devices.get('other');
      },
      frames.wake,
      () => `the view has ${[...store.getSnapshot().devices.keys()].join(', ')}`,
    );
    expect(store.getSnapshot().devices.get('other')).toMatchObject({ target: 'zero', sizeSectors: 32 });

    expect(await controller.run('status')).toBe('before: 0 64 zero \nother: 0 32 zero ');
    expect(() => controller.togglePause()).toThrow(/pause and step need the embedded engine/);
    expect(() => controller.step()).toThrow(/pause and step need the embedded engine/);
    await expect(controller.run(`copy ${dir}/a:0+8 ${dir}/b:0`)).rejects.toThrow(
      'copy runs kcopyd in this process: not available when attached to a daemon',
    );
    await controller.quit();
    expect((await readdir(dir)).includes('control.sock')).toBe(true); // the daemon is still there
  });
});

describe('attached: an event the socket check refuses', () => {
  it('is dropped before the store and logged with the reason; the events after it are reduced', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dmsim-tui-attach-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    const bus = new EventBus();
    const daemon = new ControlDaemon({ engine: new DeviceMapper({ bus }), bus, version: 'test' });
    await daemon.listen(join(dir, 'control.sock'));
    cleanups.push(() => daemon.close());
    const session = await attach(join(dir, 'control.sock'));
    const store = new ViewStore({ state: initialState(0), timer: manualTimer });
    const controller = new TuiController(session, store, 'attached');
    await controller.start();
    cleanups.push(() => controller.quit());
    const resumed = new Promise<void>((resolve) =>
      session.subscribe((e) => {
        if (e.type === 'dm.resumed') resolve();
      }),
    );
    // A module emitting a field of the wrong type (a count as text): the daemon sends it as it is.
    bus.emit('dm.io', { device: 'x', op: 'write', sector: 0, count: '8' } as never);
    bus.emit('dm.resumed', { device: 'x' });
    await resumed;
    store.flush();
    const log = store.getSnapshot().log.entries.map((l) => `${l.level} ${l.device}: ${l.text}`);
    expect(log).toEqual([
      'info x: resumed',
      `error : dropped an event from the daemon: malformed dm.io event: field 'count' must be a number, not "8"`,
    ]);
    expect(store.getSnapshot().throughput.totals.write).toBe(0);
  });
});
