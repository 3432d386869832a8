// The control socket's limits against the real daemon process (issue 13, items 4 and 7): a client that sends
// big reads and never reads the replies, clients that leave thousands of `wait`s behind, a table with more
// targets than dmsim takes, and a table at the limit, whose listings must not break anyone's `status`.

import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlClient } from '../../src/control/client.js';
import { CONNECTION_LIMITS } from '../../src/control/connection.js';
import { MAX_IO_SECTORS } from '../../src/control/protocol.js';
import { MAX_TABLE_TARGETS } from '../../src/dm/table-parser.js';
import { type DaemonHandle, rssBytes, runCli, startDaemon } from '../support/daemon-process.js';
import { makeImage } from './support/files.js';
import { writeData } from './support/sector-model.js';

let dir = '';
let socket = '';
let state = '';
let daemon: DaemonHandle;
const KEEP_SECTORS = 64;
const MiB = 1024 * 1024;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dmsim-limits-'));
  socket = join(dir, 'control');
  state = join(dir, 'state.json');
  await makeImage(join(dir, 'keep.img'), writeData(0, KEEP_SECTORS, 1));
  await makeImage(join(dir, 'big.img'), 2 * MAX_IO_SECTORS * 512);
  daemon = await startDaemon(socket, ['--state', state]);
  const c = await ControlClient.connect(socket);
  await c.request('create', { name: 'keep', table: `0 ${KEEP_SECTORS} linear ${join(dir, 'keep.img')} 0` });
  await c.request('create', { name: 'big', table: `0 ${2 * MAX_IO_SECTORS} linear ${join(dir, 'big.img')} 0` });
  c.close();
});

afterAll(async () => {
  await daemon?.kill('SIGTERM');
  await rm(dir, { recursive: true, force: true });
});

function raw(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(socket, () => resolve(s));
    s.once('error', reject);
  });
}

/** Counts the daemon's completed reads of a device, from its event stream. */
async function readCounter(device: string): Promise<{ count(): number; close(): void }> {
  const c = await ControlClient.connect(socket);
  let n = 0;
  await c.events((e) => {
    if (e.type === 'dm.io' && e.device === device && e.op === 'read') n++;
  });
  return { count: () => n, close: () => c.close() };
}

async function keepReadsBack(): Promise<void> {
  const c = await ControlClient.connect(socket);
  try {
    expect((await c.read('keep', 0, KEEP_SECTORS)).equals(writeData(0, KEEP_SECTORS, 1))).toBe(true);
  } finally {
    c.close();
  }
}

describe('the control socket keeps one client from holding the daemon memory (item 4)', () => {
  it('stops serving a client that sends 200 big reads and never reads the replies, and frees it on close', async () => {
    const before = await rssBytes(daemon.pid);
    const reads = await readCounter('big');
    const hostile = await raw();
    hostile.pause(); // never read: the replies pile up in the daemon unless it holds back
    const line = (id: number): string =>
      `${JSON.stringify({ id, verb: 'read', args: { name: 'big', sector: 0, count: MAX_IO_SECTORS } })}\n`;
    hostile.write(Array.from({ length: 200 }, (_, i) => line(i + 1)).join(''));
    // Meanwhile an honest client reads 100 times: the daemon serves it while it holds the hostile one back.
    const honest = await ControlClient.connect(socket);
    for (let i = 0; i < 100; i++) await honest.read('keep', 0, KEEP_SECTORS);
    honest.close();
    // Each 4 MiB read is ~5.6 MiB of reply; past CONNECTION_LIMITS.unsentBytes unread, no further read starts.
    const replyBytes = ((MAX_IO_SECTORS * 512) / 3) * 4;
    const most = Math.ceil(CONNECTION_LIMITS.unsentBytes / replyBytes) + 3;
    expect(reads.count()).toBeLessThanOrEqual(most);
    const held = await rssBytes(daemon.pid);
    process.stdout.write(`reads: ${reads.count()} reads served, rss grew ${((held - before) / MiB).toFixed(0)} MiB\n`);
    expect(held - before).toBeLessThan(150 * MiB); // was 1.3 GB
    hostile.destroy();
    await keepReadsBack();
    reads.close();
  }, 60_000);

  it('refuses a wait past the per-connection cap with EBUSY, and still serves that connection', async () => {
    const c = await ControlClient.connect(socket);
    try {
      const waits = Array.from({ length: CONNECTION_LIMITS.waits }, () => c.request('wait', { name: 'keep' }));
      for (const w of waits) w.catch(() => undefined);
      await expect(c.request('wait', { name: 'keep' })).rejects.toMatchObject({
        code: 'EBUSY',
        message: expect.stringMatching(`${CONNECTION_LIMITS.waits} waits sleeping`),
      });
      expect((await c.request('version', {})).driver).toBe('4.47.0');
    } finally {
      c.close();
    }
  });

  it('lets go of the waits of clients that went away (100,000 of them)', async () => {
    const before = await rssBytes(daemon.pid);
    const waitLines = Array.from(
      { length: CONNECTION_LIMITS.waits },
      (_, i) => `${JSON.stringify({ id: i + 1, verb: 'wait', args: { name: 'keep' } })}\n`,
    ).join('');
    const version = `${JSON.stringify({ id: 0, verb: 'version', args: {} })}\n`;
    const rounds = Math.ceil(100_000 / CONNECTION_LIMITS.waits);
    for (let i = 0; i < rounds; i++) {
      const s = await raw();
      // The version reply comes after every wait on the line before it has started: then the client vanishes.
      await new Promise<void>((resolve) => {
        s.on('data', () => resolve());
        s.write(waitLines + version);
      });
      s.destroy();
    }
    const grown = (await rssBytes(daemon.pid)) - before;
    process.stdout.write(`waits: rss grew ${(grown / MiB).toFixed(0)} MiB\n`);
    expect(grown).toBeLessThan(60 * MiB); // 121 MiB before waits were withdrawn (1.4 GB after 900k)
    await keepReadsBack();
  }, 120_000);
});

describe('one big table breaks nobody else (item 7)', () => {
  const zeros = (n: number): string => Array.from({ length: n }, (_, i) => `${i} 1 zero`).join('\n');

  it(`refuses a table of more than ${MAX_TABLE_TARGETS} targets with EOVERFLOW and creates no device`, async () => {
    const c = await ControlClient.connect(socket);
    try {
      await expect(c.request('create', { name: 'huge', table: zeros(MAX_TABLE_TARGETS + 1) })).rejects.toMatchObject({
        code: 'EOVERFLOW',
        message: expect.stringMatching(`${MAX_TABLE_TARGETS + 1} targets; dmsim takes at most ${MAX_TABLE_TARGETS}`),
      });
      expect((await c.request('ls', {})).map((d) => d.name)).toEqual(['big', 'keep']);
    } finally {
      c.close();
    }
  });

  it(`answers others while a ${MAX_TABLE_TARGETS}-target table is built, lists it in parts, and brings it back after a restart`, async () => {
    const creator = await ControlClient.connect(socket);
    const other = await ControlClient.connect(socket);
    const watcher = await ControlClient.connect(socket);
    const order: string[] = [];
    let building: () => void = () => undefined;
    const started = new Promise<void>((r) => (building = r));
    await watcher.events((e) => {
      if (e.type === 'dm.created' && e.device === 'wide') building();
    });
    const created = creator
      .request('create', { name: 'wide', table: zeros(MAX_TABLE_TARGETS) })
      .then(() => order.push('create'));
    // Sent once the device exists and its table is being built: answered before the build ends.
    await started;
    const listed = other.request('ls', {}).then(() => order.push('ls'));
    await Promise.all([created, listed]);
    expect(order).toEqual(['ls', 'create']);
    creator.close();
    watcher.close();

    // The whole listing is several MiB (more than one line may carry): it comes in parts and the client joins them.
    const status = await other.request('status', {});
    expect(status).toHaveLength(MAX_TABLE_TARGETS + 2);
    expect(JSON.stringify(status).length).toBeGreaterThan(CONNECTION_LIMITS.replyPartBytes);
    expect(status.filter((l) => l.name === 'wide').map((l) => l.start)).toEqual(
      Array.from({ length: MAX_TABLE_TARGETS }, (_, i) => i),
    );
    other.close();
    // The CLI's listings too, for every device.
    const table = await runCli(['table', '--json', '--socket', socket]);
    expect(table.stderr).toBe('');
    expect(JSON.parse(table.stdout)).toHaveLength(MAX_TABLE_TARGETS + 2);
    const text = await runCli(['status', '--socket', socket]);
    expect(text.status).toBe(0);
    expect(text.stdout.split('\n').filter((l) => l.startsWith('wide: '))).toHaveLength(MAX_TABLE_TARGETS);
    expect(text.stdout).toContain(`keep: 0 ${KEEP_SECTORS} linear`);

    await daemon.kill('SIGKILL');
    daemon = await startDaemon(socket, ['--state', state]);
    const c = await ControlClient.connect(socket);
    try {
      expect((await c.request('info', { name: 'wide' }))[0]!.targetCount).toBe(MAX_TABLE_TARGETS);
      expect(await c.request('status', { name: 'keep' })).toHaveLength(1);
      await c.request('remove', { name: 'wide' });
    } finally {
      c.close();
    }
    await keepReadsBack();
  }, 120_000);
});
