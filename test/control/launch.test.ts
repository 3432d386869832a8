// dmsim/control's daemons from code: one in this process and one as a child process, each reached through
// ControlClient; the child comes back from its state file after a kill -9, as `dmsim daemon --state` does.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DMSIM_VERSION } from '../../src/base/version.js';
import { makeImage } from '../../src/block/image.js';
import { type ChildDaemon, ControlClient, spawnDaemon, startDaemon } from '../../src/control/index.js';

let dir = '';
const cleanups: (() => Promise<void> | void)[] = [];
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dmsim-launch-'));
});
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
  await rm(dir, { recursive: true, force: true });
});

describe('dmsim/control', () => {
  it('startDaemon serves a DeviceMapper in this process: what a client creates is in daemon.dm', async () => {
    const daemon = await startDaemon({ socketPath: join(dir, 'control') });
    cleanups.push(() => daemon.close());
    const client = await daemon.connect();
    cleanups.push(() => client.close());
    await client.request('create', { name: 'z', table: '0 16 zero' });
    expect(daemon.dm.ls().map((d) => d.name)).toEqual(['z']);
    expect((await client.read('z', 0, 1)).equals(Buffer.alloc(512))).toBe(true);
    expect((await client.request('version', {})).dmsim).toBe(DMSIM_VERSION);
  });

  it('spawnDaemon starts `dmsim daemon`; after a kill -9 a new one brings the recorded device and its data back', async () => {
    const socketPath = join(dir, 'control');
    const statePath = join(dir, 'state.json');
    const img = join(dir, 'a.img');
    await makeImage(img, '1M');
    let daemon: ChildDaemon = await spawnDaemon({ socketPath, statePath });
    cleanups.push(() => daemon.stop('SIGKILL'));
    let client = await ControlClient.connect(socketPath);
    await client.request('create', { name: 'lin', table: `0 2048 linear ${img} 0`, cwd: dir });
    await client.write('lin', 8, Buffer.alloc(512, 0x5a));
    await client.request('flush', { name: 'lin' });
    client.close();
    await daemon.stop('SIGKILL');

    daemon = await spawnDaemon({ socketPath, statePath });
    expect(daemon.stderr()).toContain('activated 1 of 1 device(s)');
    client = await ControlClient.connect(socketPath);
    cleanups.push(() => client.close());
    expect((await client.read('lin', 8, 1)).equals(Buffer.alloc(512, 0x5a))).toBe(true);
    expect(JSON.parse(await readFile(statePath, 'utf8')).devices.map((d: { name: string }) => d.name)).toEqual(['lin']);
  });

  it('spawnDaemon rejects with the daemon log when the daemon cannot start', async () => {
    const socketPath = join(dir, 'control');
    const first = await startDaemon({ socketPath });
    cleanups.push(() => first.close());
    await expect(spawnDaemon({ socketPath })).rejects.toThrow(/already running at .*control/);
  });
});

describe('the version', () => {
  it("is package.json's", async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(DMSIM_VERSION).toBe(pkg.version);
  });
});
