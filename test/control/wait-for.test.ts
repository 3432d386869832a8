// waitFor (src/control/wait-for.ts) in process and through a daemon: a snapshot merge waited for until the
// origin holds what the snapshot showed, a mirror resync waited for until both legs hold the same bytes, a
// timeout that names the status seen, and conditions that can never hold failing at once. The kcopyd engine is
// paused while the waiter starts, so the wait must be woken by the events of the copy, not find it already done.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { TimeoutError } from '../../src/base/errors.js';
import { EventBus } from '../../src/base/events.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { ControlClient } from '../../src/control/client.js';
import { ControlDaemon } from '../../src/control/daemon.js';
import { waitFor } from '../../src/control/wait-for.js';
import { KcopydEngine } from '../../src/kcopyd/engine.js';
import { AutoScheduler } from '../../src/kcopyd/scheduler.js';
import { DeviceMapper } from '../../targets/device-mapper.js';

const SECTORS = 2048;
const REGION = 128;

/** A DeviceMapper whose kcopyd copies nothing until scheduler.resume(). */
function pausedDm(): { dm: DeviceMapper; scheduler: AutoScheduler; bus: EventBus } {
  const bus = new EventBus();
  const scheduler = new AutoScheduler({ paused: true });
  const dm = new DeviceMapper({ bus, kcopyd: new KcopydEngine({ bus, scheduler }) });
  return { dm, scheduler, bus };
}

function pattern(seed: number, sectors: number): Buffer {
  const b = Buffer.alloc(sectors * 512);
  for (let i = 0; i < b.length; i++) b[i] = (i * 7 + seed) & 0xff;
  return b;
}

async function readAll(dev: MemoryDevice): Promise<Buffer> {
  const buf = Buffer.alloc(dev.sizeSectors * 512);
  await dev.read(0, buf);
  return buf;
}

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

describe('waitFor in process', () => {
  it('waits for a snapshot merge: resolves when allocated == metadata and the origin shows the snapshot', async () => {
    const { dm, scheduler } = pausedDm();
    cleanups.push(() => dm.close());
    const data = new MemoryDevice('data', SECTORS);
    await data.write(0, pattern(1, SECTORS));
    dm.addBackingDevice('data', data);
    dm.addBackingDevice('cow', new MemoryDevice('cow', SECTORS));
    await dm.create('origin', `0 ${SECTORS} snapshot-origin data`);
    // lvcreate -s: the snapshot is made while its origin is suspended, and the origin's resume splits I/O by chunk.
    await dm.suspend('origin');
    await dm.create('snap', `0 ${SECTORS} snapshot data cow P 8`);
    await dm.resume('origin');
    scheduler.resume();
    const origin = await dm.open('origin');
    await origin.write(64, pattern(2, 40)); // five chunks copied to the COW first
    await origin.close();
    scheduler.pause();
    // lvconvert --merge: suspend both, load snapshot-merge on the origin, resume.
    await dm.suspend('origin');
    await dm.suspend('snap');
    await dm.load('origin', `0 ${SECTORS} snapshot-merge data cow P 8`);
    await dm.resume('origin');
    const waiting = waitFor(dm, 'origin', 'merged', { timeoutMs: 60_000 });
    const first = await dm.status('origin');
    expect(first[0]!.params).toBe('56/2048 16'); // 5 exceptions of 8 sectors + 16 of metadata, none merged yet
    scheduler.resume();
    const state = await waiting;
    // reference/snapshot.md §6: the merge has finished when allocated == metadata, 2C/total 2C for C=8.
    expect(state.lines[0]!.parsed).toEqual({
      target: 'snapshot-merge',
      state: 'active',
      allocatedSectors: 16,
      totalSectors: SECTORS,
      metadataSectors: 16,
    });
    // The origin now holds what the snapshot showed: the data from before the writes.
    expect((await readAll(data)).equals(pattern(1, SECTORS))).toBe(true);
  });

  it('times out with the status seen then, and the same wait succeeds once the resync runs', async () => {
    const { dm, scheduler } = pausedDm();
    cleanups.push(() => dm.close());
    dm.addBackingDevice('a', new MemoryDevice('a', SECTORS));
    dm.addBackingDevice('b', new MemoryDevice('b', SECTORS));
    await dm.create('m', `0 ${SECTORS} mirror core 1 ${REGION} 2 a 0 b 0`);
    const err = await waitFor(dm, 'm', 'sync', { timeoutMs: 20 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TimeoutError);
    expect(err).toMatchObject({ code: 'ETIMEDOUT' });
    expect((err as Error).message).toBe(
      'm was not in sync within 20 ms; its status: 0 2048 mirror 2 a b 0/16 1 AA 1 core',
    );
    const waiting = waitFor(dm, 'm', 'sync');
    scheduler.resume();
    const state = await waiting;
    expect(state.lines[0]!.parsed).toMatchObject({ target: 'mirror', inSyncRegions: 16, totalRegions: 16 });
  });

  it('waits for an event number and for a predicate', async () => {
    const { dm, scheduler } = pausedDm();
    cleanups.push(() => dm.close());
    dm.addBackingDevice('a', new MemoryDevice('a', SECTORS));
    dm.addBackingDevice('b', new MemoryDevice('b', SECTORS));
    await dm.create('m', `0 ${SECTORS} mirror core 1 ${REGION} 2 a 0 b 0`);
    const halfway = waitFor(dm, 'm', (s) =>
      s.lines.some((l) => l.parsed?.target === 'mirror' && l.parsed.inSyncRegions >= 8),
    );
    const event = waitFor(dm, 'm', { event: 1 });
    scheduler.resume();
    expect((await halfway).lines[0]!.parsed).toMatchObject({ target: 'mirror' });
    expect((await event).eventNr).toBe(1);
  });

  it('fails at once when the condition can never hold', async () => {
    const dm = new DeviceMapper({ bus: new EventBus() });
    cleanups.push(() => dm.close());
    dm.addBackingDevice('a', new MemoryDevice('a', SECTORS));
    await dm.create('lin', `0 ${SECTORS} linear a 0`);
    await expect(waitFor(dm, 'lin', 'sync')).rejects.toThrow(
      'lin can never be in sync: no mirror target in lin (status: 0 2048 linear )',
    );
    await expect(waitFor(dm, 'nosuch', 'merged')).rejects.toMatchObject({ code: 'ENXIO' });
  });

  it('a snapshot that fills up: waitFor invalid resolves', async () => {
    const dm = new DeviceMapper({ bus: new EventBus() });
    cleanups.push(() => dm.close());
    dm.addBackingDevice('data', new MemoryDevice('data', SECTORS));
    dm.addBackingDevice('cow', new MemoryDevice('cow', 32)); // header + one area + one chunk of 8
    await dm.create('origin', `0 ${SECTORS} snapshot-origin data`);
    await dm.create('snap', `0 ${SECTORS} snapshot data cow P 8`);
    const waiting = waitFor(dm, 'snap', 'invalid');
    const o = await dm.open('origin');
    for (let c = 0; c < 4; c++) await o.write(c * 8, pattern(c, 8));
    await o.close();
    expect((await waiting).lines[0]!.parsed).toEqual({ target: 'snapshot', state: 'invalid' });
  });
});

describe('waitFor through a daemon', () => {
  it('waits for a mirror resync over the socket, woken by the event stream', async () => {
    const { dm, scheduler, bus } = pausedDm();
    const a = new MemoryDevice('a', SECTORS);
    const b = new MemoryDevice('b', SECTORS);
    await a.write(0, pattern(3, SECTORS));
    dm.addBackingDevice('a', a);
    dm.addBackingDevice('b', b);
    const dir = await mkdtemp(join(tmpdir(), 'dmsim-waitfor-'));
    const daemon = new ControlDaemon({ engine: dm, bus, version: 'test' });
    await daemon.listen(join(dir, 'control'));
    cleanups.push(async () => {
      await daemon.close();
      await rm(dir, { recursive: true, force: true });
    });
    const client = await ControlClient.connect(join(dir, 'control'));
    cleanups.push(async () => client.close());
    await client.request('create', { name: 'm', table: `0 ${SECTORS} mirror core 1 ${REGION} 2 a 0 b 0` });
    const waiting = waitFor(client, 'm', 'sync', { timeoutMs: 60_000 });
    expect((await client.request('status', { name: 'm' }))[0]!.params).toBe('2 a b 0/16 1 AA 1 core');
    scheduler.resume();
    const state = await waiting;
    expect(state.lines[0]!.params).toBe('2 a b 16/16 1 AA 1 core');
    // The resync copied leg 0 onto leg 1 (dm-raid1 recovers from the default mirror).
    expect((await readAll(b)).equals(await readAll(a))).toBe(true);
    // A condition that can never hold fails over the socket too.
    await expect(waitFor(client, 'm', 'merged')).rejects.toThrow('no snapshot-merge target in m');
  });
});
