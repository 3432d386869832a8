// Real NBD clients against dmsim exports: qemu-io, qemu-img, nbdinfo and nbdcopy (Debian's qemu-utils and
// libnbd-bin; .ci/run installs them; elsewhere these tests skip, saying so, where they are missing). The daemon
// runs in this process, so every client runs as an asynchronous child process.
// Expectations come from outside dmsim: patterns the test chose, images the test wrote, the clients' verdicts.

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { EventBus } from '../../src/base/events.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { ControlClient } from '../../src/control/client.js';
import { ControlDaemon } from '../../src/control/daemon.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { describeNeeding, missingTools } from '../support/prerequisites.js';

const missing = missingTools('qemu-io', 'qemu-img', 'nbdinfo', 'nbdcopy');

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(cmd: string, args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

let dir: string;
let dm: DeviceMapper;
let daemon: ControlDaemon;
let client: ControlClient;
const disks = new Map<string, MemoryDevice>();

async function disk(name: string, sectors: number, byte = 0): Promise<MemoryDevice> {
  const d = new MemoryDevice(name, sectors);
  if (byte !== 0) await d.write(0, Buffer.alloc(sectors * 512, byte));
  dm.addBackingDevice(name, d);
  disks.set(name, d);
  return d;
}

async function exportDevice(name: string, readOnly = false): Promise<string> {
  return (await client.request('export', { name, readOnly })).uri;
}

async function readDisk(name: string, sector: number, bytes: number): Promise<Buffer> {
  const buf = Buffer.alloc(bytes);
  await disks.get(name)!.read(sector, buf);
  return buf;
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dmsim-nbd-clients-'));
  const bus = new EventBus();
  dm = new DeviceMapper({ bus });
  daemon = new ControlDaemon({ engine: dm, bus, version: 'test' });
  await daemon.listen(join(dir, 'control'));
  client = await ControlClient.connect(join(dir, 'control'));
});

afterEach(async () => {
  client.close();
  await daemon.close();
  disks.clear();
  await rm(dir, { recursive: true, force: true });
});

describeNeeding(missing, 'real NBD clients (qemu-utils, libnbd-bin)', () => {
  it('qemu-io writes patterns through an exported snapshot-origin and reads them back; the snapshot still reads the old data', async () => {
    const SECTORS = 8192; // 4 MiB
    await disk('data', SECTORS, 0x11);
    await disk('cow', 4096);
    await dm.create('origin', `0 ${SECTORS} snapshot-origin data`);
    await dm.suspend('origin');
    await dm.create('snap', `0 ${SECTORS} snapshot data cow P 8`);
    await dm.resume('origin');
    const origin = await exportDevice('origin');
    const snap = await exportDevice('snap', true);

    const w = await run('qemu-io', [
      '-f',
      'raw',
      origin,
      '-c',
      'write -P 0xab 0 64k',
      '-c',
      'write -P 0xcd 1M 512k',
      '-c',
      'flush',
      '-c',
      'read -P 0xab 0 64k',
      '-c',
      'read -P 0xcd 1M 512k',
      '-c',
      'read -P 0x11 64k 64k',
    ]);
    expect(w.stderr).toBe('');
    expect(w.code).toBe(0);
    expect(w.stdout).not.toContain('Pattern verification failed');
    expect(w.stdout.match(/^read /gm)).toHaveLength(3);

    const r = await run('qemu-io', ['-f', 'raw', '-r', snap, '-c', 'read -P 0x11 0 64k', '-c', 'read -P 0x11 1M 512k']);
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('Pattern verification failed');
    expect(r.stdout.match(/^read /gm)).toHaveLength(2);
    // And a wrong pattern is noticed, so the checks above could fail.
    const wrong = await run('qemu-io', ['-f', 'raw', '-r', snap, '-c', 'read -P 0xab 0 64k']);
    expect(wrong.stdout).toContain('Pattern verification failed');

    // The origin's data device holds the new bytes; the copied-out chunks live in the COW.
    expect((await readDisk('data', 0, 65536)).equals(Buffer.alloc(65536, 0xab))).toBe(true);
    expect((await readDisk('data', 2048, 512 * 1024)).equals(Buffer.alloc(512 * 1024, 0xcd))).toBe(true);
  });

  it('qemu-img compare: the export of a two-disk linear device equals the image the test built; one changed byte is found', async () => {
    await disk('a', 2048, 0x21);
    await disk('b', 4096, 0x42);
    await dm.create('lin', '0 2048 linear a 0\n2048 2048 linear b 1024');
    const uri = await exportDevice('lin');
    const expected = join(dir, 'expected.img');
    await writeFile(expected, Buffer.concat([Buffer.alloc(2048 * 512, 0x21), Buffer.alloc(2048 * 512, 0x42)]));
    const same = await run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', expected, uri]);
    expect(same.stdout).toContain('Images are identical');
    expect(same.code).toBe(0);

    await disks.get('b')!.write(1024 + 100, Buffer.alloc(512, 0x43));
    const diff = await run('qemu-img', ['compare', '-f', 'raw', '-F', 'raw', expected, uri]);
    expect(diff.code).toBe(1);
    expect(diff.stdout).toContain(`Content mismatch at offset ${(2048 + 100) * 512}`);
  });

  it('nbdinfo shows the size and the flags, and lists every export', async () => {
    await disk('a', 3000);
    await dm.create('rw', '0 3000 linear a 0');
    await dm.create('ro', '0 1000 zero');
    const rw = await exportDevice('rw');
    await exportDevice('ro', true);
    const info = await run('nbdinfo', ['--json', rw]);
    expect(info.code).toBe(0);
    const e = (JSON.parse(info.stdout) as { exports: Array<Record<string, unknown>> }).exports[0]!;
    expect(e).toMatchObject({
      'export-name': 'rw',
      'export-size': 3000 * 512,
      is_read_only: false,
      can_flush: true,
      can_fua: true,
      can_trim: true,
      can_zero: true,
      can_multi_conn: true,
      block_size_minimum: 512,
    });
    const list = await run('nbdinfo', ['--list', '--json', rw]);
    const exports = (JSON.parse(list.stdout) as { exports: Array<Record<string, unknown>> }).exports;
    expect(exports.map((x) => x['export-name'])).toEqual(['ro', 'rw']);
    expect(exports.find((x) => x['export-name'] === 'ro')).toMatchObject({
      'export-size': 1000 * 512,
      is_read_only: true,
      can_trim: false,
    });
  });

  it('nbdcopy copies a mirror out, and a new image back in to both legs', async () => {
    const SECTORS = 4096;
    await disk('leg0', SECTORS, 0x5e);
    await disk('leg1', SECTORS, 0x5e);
    await dm.create('mir', `0 ${SECTORS} mirror core 2 1024 nosync 2 leg0 0 leg1 0`);
    const uri = await exportDevice('mir');
    const out = join(dir, 'out.img');
    const copyOut = await run('nbdcopy', [uri, out]);
    expect(copyOut.stderr).toBe('');
    expect((await readFile(out)).equals(Buffer.alloc(SECTORS * 512, 0x5e))).toBe(true);

    const image = Buffer.alloc(SECTORS * 512);
    for (let i = 0; i < image.length; i += 512) image.fill((i / 512) % 251, i, i + 512);
    const input = join(dir, 'in.img');
    await writeFile(input, image);
    const copyIn = await run('nbdcopy', [input, uri]);
    expect(copyIn.stderr).toBe('');
    expect(copyIn.code).toBe(0);
    expect((await readDisk('leg0', 0, image.length)).equals(image)).toBe(true);
    expect((await readDisk('leg1', 0, image.length)).equals(image)).toBe(true);
  });
});
