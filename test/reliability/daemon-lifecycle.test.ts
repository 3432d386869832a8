// Starting and stopping the real daemon process on one socket path (issue 13, item 6): a deep stack comes down
// in one pass, a second daemon refuses a running one and waits for one still shutting down (it holds the path's
// lock until its devices are closed), and a daemon removes only the socket file it made.

import { lstat, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControlClient } from '../../src/control/client.js';
import { socketAnswers } from '../../src/net/unix-socket.js';
import { type DaemonHandle, runCli, startDaemon } from '../support/daemon-process.js';
import { makeImage } from './support/files.js';

let dir = '';
let socket = '';
const daemons: DaemonHandle[] = [];

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dmsim-lifecycle-'));
  socket = join(dir, 'control');
});

afterEach(async () => {
  for (const d of daemons.splice(0)) await d.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

async function start(extra: string[] = []): Promise<DaemonHandle> {
  const d = await startDaemon(socket, extra);
  daemons.push(d);
  return d;
}

/**
 * A mirror resyncing from legs that delay every I/O by `ms`: its presuspend waits for the copy in flight, so
 * the daemon takes about that long to shut down. Resolves once the copy is under way.
 */
async function slowToStop(ms: number): Promise<void> {
  for (const leg of ['leg0', 'leg1']) await makeImage(join(dir, `${leg}.img`), 2048 * 512);
  const c = await ControlClient.connect(socket);
  const watcher = await ControlClient.connect(socket);
  let copying: () => void = () => undefined;
  const copyStarted = new Promise<void>((r) => (copying = r));
  await watcher.events((e) => {
    if (e.type === 'kcopyd.job') copying();
  });
  for (const leg of ['leg0', 'leg1'])
    await c.request('create', { name: leg, table: `0 2048 delay ${join(dir, `${leg}.img`)} 0 ${ms}` });
  await c.request('create', {
    name: 'm',
    table: '0 2048 mirror core 1 1024 2 /dev/mapper/leg0 0 /dev/mapper/leg1 0',
  });
  await copyStarted;
  watcher.close();
  c.close();
}

describe('the daemon process on its socket path (item 6)', () => {
  it('shuts down a 1,500-deep stack (was 121 s: rescanning for a free device after every removal)', async () => {
    const d = await start();
    const c = await ControlClient.connect(socket);
    await c.request('create', { name: 'd0', table: '0 8 zero' });
    for (let i = 1; i < 1500; i++)
      await c.request('create', { name: `d${i}`, table: `0 8 linear /dev/mapper/d${i - 1} 0` });
    c.close();
    await d.kill('SIGTERM');
    expect(d.stderr()).toContain('stopped');
    await expect(lstat(socket)).rejects.toMatchObject({ code: 'ENOENT' });
  }, 60_000);

  it('refuses to start a second daemon on the path of a running one, naming its pid', async () => {
    const first = await start();
    const second = await runCli(['daemon', '--socket', socket]);
    expect(second.status).toBe(1);
    expect(second.stderr).toContain(
      `a daemon is already running at ${socket}: the daemon (pid ${first.pid}) is running`,
    );
    expect(await socketAnswers(socket)).toBe(true);
  });

  it('waits for a daemon still shutting down, then starts; the old one leaves the new socket alone', async () => {
    const old = await start();
    await slowToStop(3000);
    const stopped = old.kill('SIGTERM');
    // The old daemon stops listening first, then closes its devices (waiting for the mirror's copy).
    while (await socketAnswers(socket)) await new Promise((r) => setTimeout(r, 20));
    const starting = startDaemon(socket);
    await stopped;
    const fresh = await starting;
    daemons.push(fresh);
    expect(fresh.stderr()).toContain(`waiting for the daemon (pid ${old.pid}) still shutting down at ${socket}`);
    expect(await socketAnswers(socket)).toBe(true);
    const c = await ControlClient.connect(socket);
    expect(await c.request('ls', {})).toEqual([]);
    c.close();
  }, 60_000);

  it('removes at exit only the socket file it made, not one put at its path since', async () => {
    const old = await start();
    await slowToStop(3000);
    const stopped = old.kill('SIGTERM');
    while (await socketAnswers(socket)) await new Promise((r) => setTimeout(r, 20));
    // Someone else listens at the path while the old daemon is still closing its devices.
    await rm(socket, { force: true });
    const other = createServer((s) => s.end());
    await new Promise<void>((r) => other.listen(socket, () => r()));
    const made = (await lstat(socket, { bigint: true })).ctimeNs;
    await stopped;
    expect(old.stderr()).toContain('stopped');
    expect((await lstat(socket, { bigint: true })).ctimeNs).toBe(made);
    expect(await socketAnswers(socket)).toBe(true);
    await new Promise<void>((r) => other.close(() => r()));
  }, 60_000);
});
