// Crash: the real daemon process is killed (SIGKILL) while a mirror write is in flight, held up on leg 1 by
// a delay table as the oracle job disklog.sh does before its power cut. After a restart and re-activation
// over the same files, only the region the log still marks dirty is resynced (a region changed behind the
// mirror's back elsewhere stays as it is), and the legs end identical over it.

import { closeSync, openSync, readSync, writeSync } from 'node:fs';
import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ControlClient } from '../../src/control/client.js';
import { type DaemonHandle, startDaemon } from '../support/daemon-process.js';
import { daemonDeviceState, onFileChange, untilDaemonStatus, waitFor } from '../support/wait.js';
import { pattern } from './support/harness.js';

const R = 128;
let dir = '';
let daemon: DaemonHandle | undefined;

function readAt(file: string, offset: number, length: number): Buffer {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, offset);
    return buf;
  } finally {
    closeSync(fd);
  }
}

function writeAt(file: string, offset: number, data: Buffer): void {
  const fd = openSync(file, 'r+');
  try {
    writeSync(fd, data, 0, data.length, offset);
  } finally {
    closeSync(fd);
  }
}

/** The mirror's status once every region is in sync (the kernel raises a dm event then). */
function waitForSync(sock: string, c: ControlClient, name: string): Promise<string> {
  return untilDaemonStatus(sock, c, name, 'in sync', (st) => {
    const m = / (\d+)\/(\d+) 1 /.exec(st);
    return m !== null && m[1] === m[2] && Number(m[2]) > 0;
  });
}

afterAll(async () => {
  await daemon?.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('mirror crash recovery', () => {
  it('after SIGKILL of the daemon with a write in flight, only the dirty region resyncs and the legs end identical', async () => {
    dir = await mkdtemp(join(tmpdir(), 'dmsim-mirror-crash-'));
    const sock = join(dir, 'sock');
    const [leg0, leg1, log] = ['leg0.img', 'leg1.img', 'log.img'].map((f) => join(dir, f)) as [string, string, string];
    for (const [f, size] of [
      [leg0, 2 << 20],
      [leg1, 2 << 20],
      [log, 64 << 10],
    ] as const) {
      await writeFile(f, '');
      await truncate(f, size);
    }
    for (let r = 0; r < 32; r++) writeAt(leg0, r * R * 512, pattern('init', r)); // leg1 stays blank: activated nosync
    const mirror = (sync: string, leg: string): string =>
      `0 4000 mirror disk ${sync ? 3 : 2} ${log} 128 ${sync} 2 ${leg0} 0 ${leg} 0`;

    daemon = await startDaemon(sock);
    let c = await ControlClient.connect(sock);
    await c.request('create', { name: 'leg1', table: `0 4096 linear ${leg1} 0` });
    await c.request('create', { name: 'mir', table: mirror('nosync', '/dev/mapper/leg1') });
    await waitForSync(sock, c, 'mir');
    // leg1's writes now take ten minutes: the next mirror write stays in flight on it.
    await c.request('suspend', { name: 'leg1' });
    await c.request('load', { name: 'leg1', table: `0 4096 delay ${leg1} 0 0 ${leg1} 0 600000` });
    await c.request('resume', { name: 'leg1' });
    const writer = await ControlClient.connect(sock);
    const inFlight = writer.write('mir', 10 * R, Buffer.alloc(4096, 0x5a)).catch((e: Error) => e);
    await waitFor(
      'region 10 dirty in the log and written on leg0',
      () => ((readAt(log, 1024 + 1, 1)[0]! & 0x04) === 0 && readAt(leg0, 10 * R * 512, 1)[0] === 0x5a) || undefined,
      onFileChange(log, leg0),
      () => daemonDeviceState(c, 'mir'),
    );
    await daemon.kill('SIGKILL');
    expect(await inFlight).toBeInstanceOf(Error); // the writer never got an answer
    c.close();
    writer.close();

    // What the crash left: region 10 written on leg0 only and marked dirty in the log.
    expect(readAt(log, 1024, 4)).toEqual(Buffer.from([0xff, 0xfb, 0xff, 0xff]));
    expect(readAt(leg0, 10 * R * 512, 4096)).toEqual(Buffer.alloc(4096, 0x5a));
    expect(readAt(leg1, 10 * R * 512, 4096)).toEqual(Buffer.alloc(4096));
    // A change behind the mirror's back in a clean region: a full resync would undo it, a dirty-only one must not.
    writeAt(leg1, 20 * R * 512, Buffer.alloc(512, 0xee));

    daemon = await startDaemon(sock);
    c = await ControlClient.connect(sock);
    await c.request('create', { name: 'mir', table: mirror('', leg1) });
    expect(await waitForSync(sock, c, 'mir')).toMatch(/32\/32 1 AA 3 disk .* A$/);
    await c.request('remove', { name: 'mir' });
    c.close();
    expect(readAt(leg1, 10 * R * 512, 64 * 1024)).toEqual(readAt(leg0, 10 * R * 512, 64 * 1024)); // resynced
    expect(readAt(leg1, 20 * R * 512, 512)).toEqual(Buffer.alloc(512, 0xee)); // untouched
    expect(readAt(log, 1024, 8)).toEqual(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]));
  });
});
