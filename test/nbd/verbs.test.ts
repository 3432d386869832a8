// The daemon verbs export and unexport over the control socket, with a real DeviceMapper: where exports
// listen, how they show in `ls`, and what an exported device refuses (remove: EBUSY, like any opener).

import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/base/events.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { ControlClient } from '../../src/control/client.js';
import { ControlDaemon } from '../../src/control/daemon.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { openExport, type RawClient } from './support/raw-client.js';

let dir: string;
let control: string;
let dm: DeviceMapper;
let daemon: ControlDaemon;
let c: ControlClient;
const raws: RawClient[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dmsim-nbd-verbs-'));
  control = join(dir, 'control');
  const bus = new EventBus();
  dm = new DeviceMapper({ bus });
  dm.addBackingDevice('disk', new MemoryDevice('disk', 4096));
  daemon = new ControlDaemon({ engine: dm, bus, version: 'test' });
  await daemon.listen(control);
  c = await ControlClient.connect(control);
  await c.request('create', { name: 'lin', table: '0 2048 linear disk 0' });
  await c.request('create', { name: 'two', table: '0 1024 linear disk 2048' });
});

afterEach(async () => {
  for (const r of raws.splice(0)) r.close();
  c.close();
  await daemon.close();
  await rm(dir, { recursive: true, force: true });
});

describe('dmsim export / unexport (daemon verbs)', () => {
  it('exports on a 0600 unix socket beside the control socket by default, and ls shows the export and its clients', async () => {
    const e = await c.request('export', { name: 'lin' });
    expect(e).toEqual({
      name: 'lin',
      listen: `unix:${control}.nbd`,
      uri: `nbd+unix:///lin?socket=${control}.nbd`,
      readOnly: false,
      clients: 0,
    });
    expect((await stat(`${control}.nbd`)).mode & 0o777).toBe(0o600);
    const r = await openExport(`${control}.nbd`, 'lin');
    raws.push(r);
    const ls = await c.request('ls', {});
    expect(ls.find((d) => d.name === 'lin')?.export).toMatchObject({ uri: e.uri, clients: 1 });
    expect(ls.find((d) => d.name === 'two')).toEqual({ name: 'two', major: 253, minor: expect.any(Number) });
  });

  it('refuses what cannot be done, with the right code', async () => {
    await c.request('export', { name: 'lin' });
    await expect(c.request('export', { name: 'lin' })).rejects.toMatchObject({
      code: 'EEXIST',
      message: expect.stringContaining('already exported'),
    });
    await expect(c.request('export', { name: 'nosuch' })).rejects.toMatchObject({ code: 'ENXIO' });
    await expect(c.request('export', { name: 'two', listen: 'http://0.0.0.0' })).rejects.toMatchObject({
      code: 'EINVAL',
      message: expect.stringContaining('unix:PATH or tcp:HOST:PORT'),
    });
    await expect(c.request('export', { name: 'two', listen: 'tcp:127.0.0.1:70000' })).rejects.toMatchObject({
      code: 'EINVAL',
    });
    await expect(c.request('unexport', { name: 'two' })).rejects.toMatchObject({ code: 'ENXIO' });
    // An address something else holds, and a path that is not a socket.
    const other = createServer();
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    const port = (other.address() as AddressInfo).port;
    await expect(c.request('export', { name: 'two', listen: `tcp:127.0.0.1:${port}` })).rejects.toMatchObject({
      code: 'EBUSY',
      message: expect.stringContaining('in use'),
    });
    await new Promise((r) => other.close(r));
    await writeFile(join(dir, 'plain'), 'x');
    await expect(c.request('export', { name: 'two', listen: `unix:${join(dir, 'plain')}` })).rejects.toMatchObject({
      code: 'EEXIST',
    });
    // A failed export holds nothing open: the device still removes.
    await c.request('remove', { name: 'two' });
  });

  it('an exported device cannot be removed (EBUSY, naming unexport); after unexport it can', async () => {
    await c.request('export', { name: 'lin' });
    await expect(c.request('remove', { name: 'lin' })).rejects.toMatchObject({
      code: 'EBUSY',
      message: expect.stringContaining('dmsim unexport lin'),
    });
    await expect(c.request('removeAll', {})).rejects.toMatchObject({ code: 'EBUSY' });
    await c.request('unexport', { name: 'lin' });
    await c.request('remove', { name: 'lin' });
    await expect(stat(`${control}.nbd`)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('remove --force on an exported device swaps in an error table: NBD clients get EIO, the remove still fails EBUSY', async () => {
    await c.request('export', { name: 'lin' });
    const r = await openExport(`${control}.nbd`, 'lin');
    raws.push(r);
    await expect(c.request('remove', { name: 'lin', force: true })).rejects.toMatchObject({ code: 'EBUSY' });
    r.request(0, 0, 512);
    expect((await r.reply()).error).toBe(5);
  });

  it('exports on tcp:127.0.0.1:0 get a port of their own; two exports on one address share a server', async () => {
    const t = await c.request('export', { name: 'lin', listen: 'tcp:127.0.0.1:0' });
    const port = Number(/^tcp:127\.0\.0\.1:(\d+)$/.exec(t.listen)?.[1]);
    expect(port).toBeGreaterThan(0);
    expect(t.uri).toBe(`nbd://127.0.0.1:${port}/lin`);
    const r = await openExport({ host: '127.0.0.1', port }, 'lin');
    raws.push(r);
    r.request(1, 0, 512, { payload: Buffer.alloc(512, 0x77) });
    expect((await r.reply()).error).toBe(0);

    await c.request('export', { name: 'two' });
    await c.request('create', { name: 'three', table: '0 8 zero' });
    await c.request('export', { name: 'three' });
    await c.request('unexport', { name: 'two' });
    // 'three' is still served on the shared default socket after 'two' left it.
    const three = await openExport(`${control}.nbd`, 'three');
    raws.push(three);
    three.request(0, 0, 4096);
    expect((await three.reply()).error).toBe(0);
  });

  it('requests to a suspended device wait for its resume, as the kernel holds bios', async () => {
    await c.request('export', { name: 'lin' });
    const r = await openExport(`${control}.nbd`, 'lin');
    raws.push(r);
    await c.request('suspend', { name: 'lin' });
    let answered = false;
    r.request(1, 0, 512, { payload: Buffer.alloc(512, 0x42) });
    const reply = r.reply().then((x) => {
      answered = true;
      return x;
    });
    for (let i = 0; i < 200; i++) await new Promise((res) => setImmediate(res));
    expect(answered).toBe(false);
    await c.request('resume', { name: 'lin' });
    expect((await reply).error).toBe(0);
    expect((await c.read('lin', 0, 1)).equals(Buffer.alloc(512, 0x42))).toBe(true);
  });

  it('closing the daemon withdraws every export and removes its socket', async () => {
    await c.request('export', { name: 'lin' });
    const r = await openExport(`${control}.nbd`, 'lin');
    c.close();
    await daemon.close();
    await r.closed;
    await expect(stat(`${control}.nbd`)).rejects.toMatchObject({ code: 'ENOENT' });
    // afterEach closes again: harmless.
    daemon = new ControlDaemon({
      engine: new DeviceMapper({ bus: new EventBus() }),
      bus: new EventBus(),
      version: 'test',
    });
    await daemon.listen(control);
    c = await ControlClient.connect(control);
  });
});
