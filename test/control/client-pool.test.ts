// ControlClientPool against a daemon: a request held by the device (a write to a suspended device waits for
// resume, as the kernel holds bios while suspended) does not hold up the request that releases it.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { makeImage } from '../../src/block/image.js';
import { ControlClientPool } from '../../src/control/client-pool.js';
import { type InProcessDaemon, startDaemon } from '../../src/control/launch.js';

let dir = '';
let daemon: InProcessDaemon;
let pool: ControlClientPool;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dmsim-pool-'));
  daemon = await startDaemon({ socketPath: join(dir, 'control') });
  pool = await ControlClientPool.connect(daemon.socketPath);
});
afterEach(async () => {
  pool.close();
  await daemon.close();
  await rm(dir, { recursive: true, force: true });
});

it('a write held by a suspended device is released by resume sent through the same pool', async () => {
  const img = join(dir, 'a.img');
  await makeImage(img, '1M');
  await pool.request('create', { name: 'lin', table: `0 2048 linear ${img} 0` });
  await pool.request('suspend', { name: 'lin', noflush: false });
  let written = false;
  const held = pool.write('lin', 0, Buffer.alloc(512, 0x7e)).then(() => {
    written = true;
  });
  const [info] = await pool.request('info', { name: 'lin' });
  expect(info!.state, 'the device stays suspended while the write waits').toBe('SUSPENDED');
  expect(written).toBe(false);
  await pool.request('resume', { name: 'lin' });
  await held;
  expect((await pool.read('lin', 0, 1)).equals(Buffer.alloc(512, 0x7e))).toBe(true);
});

it('keeps working when one of its connections is closed by the daemon side', async () => {
  await pool.request('create', { name: 'z', table: '0 8 zero' });
  await daemon.close();
  daemon = await startDaemon({ socketPath: daemon.socketPath });
  await expect(pool.request('ls', {})).resolves.toEqual([]);
});
