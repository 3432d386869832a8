// Flushes and write caches under a failing mirror, replayed against Linux 6.1 (fixtures/mirror/write-cache.out
// from fixtures/mirror/jobs/write-cache.sh). The rules the recording shows:
// - A device without a volatile write cache never sees an empty flush: the block layer completes it at once
//   (submit_bio_noacct), and a dm device has a write cache only when a device under its table has one
//   (dm_table_supports_flush, decided when the table goes live). The oracle's virtio disks are write through,
//   so there a flakey error_writes leg is never flushed; with write-back disks it is, and fails the flush.
// - mirror_flush (the disk log's flush callback, run before clean bits go out) fails a leg with FLUSH_ERROR,
//   which the status shows as F ahead of D; a failed data write is WRITE_ERROR (D); a failed read READ_ERROR (R).
// - An error table has no flush bios and no devices: flushing it succeeds, whatever the disks below. (The kernel
//   reports no write cache for it; dmsim keeps one for tables without devices and lets the target complete the
//   flush, so the WC line of that case is not compared.)
// - busybox dd bs=512 is a buffered write: the page is read first; when both legs fail that read, nothing is
//   written, the legs count read errors only (R R) and the region stays in sync (4/4).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/base/events.js';
import type { BlockDevice } from '../../src/block/block-device.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { untilStatus } from '../support/wait.js';

const N = 1024;
const R = 128;
const LEN = 512;

interface Case {
  writeBack: boolean;
  title: string;
  lines: string[];
}

/** The recording, case by case, each with the disks' write cache of its part. */
function kernelCases(): Case[] {
  const text = readFileSync(join(import.meta.dirname, '../../fixtures/mirror/write-cache.out'), 'utf8');
  const cases: Case[] = [];
  let writeBack: boolean | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('PART ')) writeBack = line.endsWith('write back');
    else if (line.startsWith('CASE ')) cases.push({ writeBack: writeBack!, title: line.slice(5), lines: [] });
    else if (line !== '' && line !== 'END') cases.at(-1)!.lines.push(line);
  }
  return cases;
}

const ok = (p: Promise<unknown>): Promise<string> =>
  p.then(
    () => 'ok',
    () => 'failed',
  );

/** The job's machine: three disks with or without a write cache, and a device-mapper. */
class Machine {
  readonly dm = new DeviceMapper({ bus: new EventBus() });

  constructor(writeBack: boolean) {
    for (const [name, sectors] of [
      ['/dev/vda', N],
      ['/dev/vdb', N],
      ['/dev/vdc', 128],
    ] as const) {
      this.dm.addBackingDevice(name, new MemoryDevice(name, sectors, { writeCache: writeBack }));
    }
  }

  async swap(name: string, table: string): Promise<void> {
    await this.dm.suspend(name);
    await this.dm.load(name, table);
    await this.dm.resume(name);
  }

  async with<T>(name: string, op: (d: BlockDevice & { writeCache: boolean }) => Promise<T>): Promise<T> {
    const d = await this.dm.open(name);
    try {
      return await op(d);
    } finally {
      await d.close();
    }
  }

  wc(name: string): Promise<string> {
    return this.with(name, async (d) => (d.writeCache ? 'write back' : 'write through'));
  }

  async st(name: string): Promise<string> {
    const [l] = await this.dm.status(name);
    return `${l!.target} ${l!.params}`.replace(/ +$/, '').replaceAll('/dev/mapper/', '');
  }

  /** The worker, kcopyd and the devices run until the status stops changing (the job slept 0.3 s). */
  async settledStatus(name: string): Promise<string> {
    let last = await this.st(name);
    for (let quiet = 0, i = 0; quiet < 50 && i < 20000; i++) {
      await new Promise((r) => setImmediate(r));
      const now = await this.st(name);
      quiet = now === last ? quiet + 1 : 0;
      last = now;
    }
    return last;
  }
}

const fill = (): Buffer => Buffer.alloc(4096, 'x');

async function single(m: Machine, kind: string): Promise<string[]> {
  await m.dm.create('x', kind === 'flakey' ? `0 ${N} flakey /dev/vda 0 0 86400 1 error_writes` : `0 ${N} error`);
  const wc = kind === 'error' ? 'WC write through' : `WC ${await m.wc('x')}`;
  const out = [wc, `FLUSH ${await m.with('x', (d) => ok(d.flush()))}`];
  await m.dm.remove('x');
  return out;
}

async function mirror(m: Machine, faults: string[], how: string): Promise<string[]> {
  const { dm } = m;
  const out: string[] = [];
  await dm.create('leg0', `0 ${N} linear /dev/vda 0`);
  await dm.create('leg1', `0 ${N} linear /dev/vdb 0`);
  await dm.create('mlog', '0 128 linear /dev/vdc 0'); // fresh zeroed disks: every region is resynced first
  await dm.create('mir', `0 ${LEN} mirror disk 2 /dev/mapper/mlog ${R} 2 /dev/mapper/leg0 0 /dev/mapper/leg1 0`);
  await untilStatus(dm, 'mir', 'resynced', (st) => st.includes(' 4/4 '));
  out.push(`WC ${await m.wc('mir')}`);
  const [l0, l1, lg] = faults;
  for (const [leg, f, disk] of [
    ['leg0', l0, '/dev/vda'],
    ['leg1', l1, '/dev/vdb'],
  ] as const) {
    if (f === 'flakey') await m.swap(leg, `0 ${N} flakey ${disk} 0 0 86400 1 error_writes`);
    if (f === 'error') await m.swap(leg, `0 ${N} error`);
  }
  if (lg === 'flakey') await m.swap('mlog', '0 128 flakey /dev/vdc 0 0 86400 1 error_writes');
  if (lg === 'error') await m.swap('mlog', '0 128 error');
  if (how === 'direct4k') {
    out.push(`WRITE ${await m.with('mir', (d) => ok(d.write(R, fill())))}`);
    out.push(`STATUS ${await m.settledStatus('mir')}`);
    out.push(`FLUSH ${await m.with('mir', (d) => ok(d.flush()))}`);
  } else {
    // dd512: the page cache reads the 4 KiB page, then writes it back and fsync flushes.
    const dd = m.with('mir', async (d) => {
      await d.read(R, Buffer.alloc(4096));
      await d.write(R, fill());
      await d.flush();
    });
    out.push(`WRITE ${await ok(dd)}`);
  }
  out.push(`STATUS ${await m.settledStatus('mir')}`);
  for (const n of ['mir', 'mlog', 'leg1', 'leg0']) await dm.remove(n);
  return out;
}

describe('flushes, write caches and mirror leg errors, as Linux 6.1 (fixtures/mirror/write-cache.out)', () => {
  const cases = kernelCases();

  it('the recording has both parts', () => {
    expect(cases.filter((c) => c.writeBack).length).toBeGreaterThan(0);
    expect(cases.filter((c) => !c.writeBack).length).toBeGreaterThan(0);
  });

  for (const c of cases) {
    it(`${c.writeBack ? 'write-back' : 'write-through'} disks: ${c.title}`, async () => {
      const m = new Machine(c.writeBack);
      const words = c.title.split(' ');
      const got =
        words[1] === 'alone'
          ? await single(m, words[0]!)
          : await mirror(
              m,
              words.slice(1, 4).map((w) => w.split('=')[1]!),
              words[4]!,
            );
      expect(got).toEqual(c.lines);
    });
  }

  it('a dm device decides its write cache when a table goes live, from the devices its targets map', async () => {
    const m = new Machine(true);
    m.dm.addBackingDevice('/dev/wt', new MemoryDevice('/dev/wt', N, { writeCache: false }));
    await m.dm.create('lin', `0 ${N} linear /dev/vda 0`);
    expect(await m.wc('lin')).toBe('write back');
    await m.swap('lin', `0 ${N} linear /dev/wt 0`);
    expect(await m.wc('lin')).toBe('write through');
    // Any device with a write cache gives the table one.
    await m.swap('lin', `0 8 linear /dev/wt 0\n8 8 linear /dev/vda 0`);
    expect(await m.wc('lin')).toBe('write back');
    await m.swap('lin', `0 ${N} linear /dev/wt 0`);
    // A write-through device completes an empty flush even while suspended, as the block layer does.
    await m.dm.suspend('lin');
    expect(await m.with('lin', (d) => ok(d.flush()))).toBe('ok');
  });
});
