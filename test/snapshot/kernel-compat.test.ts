// Kernel compatibility, both ways, against what Linux 6.1 printed and wrote in the oracle jobs of
// fixtures/snapshot/jobs (run.sh): dmsim replays each job and must print the same status lines and md5s and
// leave a byte-identical COW; and dmsim activates the kernel's COWs and reads what the kernel read.

import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { C2_ORIGIN_PAGES, C2_SNAP_WRITES } from '../../fixtures/snapshot/jobs/dmsim-c2-ops.js';
import { block, Job } from './support/kernel-job.js';
import { pattern } from './support/pattern.js';
import { fixtureImage, fixtureText, md5, read } from './support/rig.js';

const O = '/dev/vda';

function md5Line(text: string, what: string, nth = 0): string {
  const all = [...text.matchAll(new RegExp(`^md5 ${what} ([0-9a-f]{32})$`, 'gm'))].map((m) => m[1]);
  return all[nth]!;
}

async function snapshotStack(j: Job, cow: string, store: string, chunk: number): Promise<void> {
  await j.create('origin', `0 2048 snapshot-origin ${O}`);
  await j.suspend('origin');
  await j.create('snap', `0 2048 snapshot ${O} ${cow} ${store} ${chunk}`);
  await j.resume('origin');
}

describe('persistent store, chunk 8 (p8-basic)', () => {
  const kernel = fixtureText('p8-basic.txt');
  const C = '/dev/vdb';

  it('prints the same status lines and md5s and writes a byte-identical COW', async () => {
    const j = await Job.start({ [C]: 2048 });
    await snapshotStack(j, C, 'P', 8);
    j.st('fresh');
    await j.wr('origin', 24, 8, 'NEW');
    await j.wr('origin', 1, 1, 'NW2');
    await j.wr('origin', 2040, 8, 'NW3');
    await j.wr('origin', 26, 2, 'NW4');
    j.st('after origin writes');
    await j.wr('snap', 80, 8, 'SNA');
    await j.wr('snap', 163, 2, 'SNB');
    await j.wr('origin', 80, 8, 'NW5');
    await j.wr('origin', 160, 8, 'NW6');
    j.st('after snapshot writes');
    for (const label of ['fresh', 'after origin writes', 'after snapshot writes']) {
      expect(j.out.slice(j.out.indexOf(`--- ${label}`), j.out.indexOf(`--- ${label}`) + 3)).toEqual(
        block(kernel, label),
      );
    }
    expect(await j.md5('snap')).toBe(md5Line(kernel, 'snap'));
    expect(await j.md5('origin')).toBe(md5Line(kernel, 'origin'));
    expect(j.dev('snap').target.status('table')).toBe(`${O} ${C} P 8`);
    expect(j.dev('origin').target.status('table')).toBe(O);
    await j.remove('snap');
    await j.remove('origin');
    expect(md5(await j.image(C))).toBe(md5(fixtureImage('p8-basic.cow2048.img.gz')));
  });

  it("activates the kernel's COW and reads the snapshot the kernel read", async () => {
    const j = await Job.start({ [C]: fixtureImage('p8-basic.cow2048.img.gz') });
    // The origin as the kernel left it: replay the origin writes on the pattern (they do not touch the COW).
    await j.create('snap', `0 2048 snapshot ${O} ${C} P 8`);
    j.st('reactivated');
    expect(j.out).toEqual(block(kernel, 'reactivated'));
    // Chunks the snapshot has in the COW read the old data regardless of the origin.
    const snap = j.dev('snap');
    expect(md5(await read(snap, 24, 8))).toBe(md5(pattern('OLD', 24, 8)));
  });
});

describe('persistent store, chunk 1: three full areas (p1-areas)', () => {
  const kernel = fixtureText('p1-areas.txt');
  const C = '/dev/vdb';
  const writes = Array.from({ length: 14 }, (_, i) => ((i * 37 + 5) % 256) * 8);

  it('fills areas in allocation order, zeroes each next area, and matches the kernel byte for byte', async () => {
    const j = await Job.start({ [C]: 120 });
    await snapshotStack(j, C, 'P', 1);
    j.st('fresh');
    for (const [i, s] of writes.entries()) {
      await j.wr('origin', s, 8, 'NEW');
      if ([3, 4, 7, 8, 11, 12, 13].includes(i)) j.st(`after ${i + 1} writes`);
    }
    for (const label of [
      'fresh',
      'after 4 writes',
      'after 5 writes',
      'after 8 writes',
      'after 9 writes',
      'after 12 writes',
      'after 14 writes',
    ]) {
      const at = j.out.indexOf(`--- ${label}`);
      expect(j.out.slice(at, at + 3)).toEqual(block(kernel, label));
    }
    expect(await j.md5('snap')).toBe(md5Line(kernel, 'snap'));
    await j.remove('snap');
    await j.remove('origin');
    expect(md5(await j.image(C))).toBe(md5(fixtureImage('p1-areas.cow120.img.gz')));
  });

  it("reads the kernel's four areas back: same status and the same snapshot md5", async () => {
    const j = await Job.start({ [C]: fixtureImage('p1-areas.cow120.img.gz') });
    await j.create('snap', `0 2048 snapshot ${O} ${C} P 1`);
    // The origin is the kernel's final origin: every chunk the snapshot lacks still holds OLD data.
    j.st('reactivated');
    expect(j.out).toEqual(block(kernel, 'reactivated'));
    expect(await j.md5('snap')).toBe(md5Line(kernel, 'snap', 1));
  });
});

describe('a COW that runs out (p8-full, p1-full)', () => {
  it('P invalidates on the allocation after the last chunk; PO overflows on snapshot writes (p8-full)', async () => {
    const kernel = fixtureText('p8-full.txt');
    const C = '/dev/vdb';
    const C2 = '/dev/vdc';
    const j = await Job.start({ [C]: 40, [C2]: 64 });
    await j.create('origin', `0 2048 snapshot-origin ${O}`);
    await j.suspend('origin');
    await j.create('snap', `0 2048 snapshot ${O} ${C} P 8`);
    await j.create('snapo', `0 2048 snapshot ${O} ${C2} PO 8`);
    await j.resume('origin');
    j.st('fresh');
    for (const c of [0, 1, 2, 3]) {
      await j.wr('origin', c * 8, 8, 'NEW'); // the origin never fails because a snapshot is full
      j.st(`after origin chunk ${c}`);
    }
    await expect(read(j.dev('snap'), 0, 8)).rejects.toMatchObject({ code: 'EIO' });
    await expect(j.wr('snap', 800, 8, 'SNA')).rejects.toMatchObject({ code: 'EIO' });
    const results: string[] = [];
    for (const c of [50, 51, 52, 53]) {
      results.push(
        await j.wr('snapo', c * 8, 8, 'SNO').then(
          () => 'ok',
          () => 'failed',
        ),
      );
      j.st(`after snapo chunk ${c}`);
    }
    expect(results).toEqual(['ok', 'ok', 'failed', 'failed']);
    // An overflowed snapshot still reads, including the chunks it wrote.
    expect((await read(j.dev('snapo'), 400, 8)).subarray(0, 16).toString()).toBe('SNO:00000012800\n');
    await j.wr('origin', 480, 8, 'NW2');
    j.st('after origin chunk 60');
    const labels = [
      'fresh',
      ...[0, 1, 2, 3].map((c) => `after origin chunk ${c}`),
      ...[50, 51, 52, 53].map((c) => `after snapo chunk ${c}`),
      'after origin chunk 60',
    ];
    for (const label of labels) {
      const at = j.out.indexOf(`--- ${label}`);
      expect(j.out.slice(at, at + 4)).toEqual(block(kernel, label));
    }
    expect(j.dev('snap').target.status('table')).toBe(`${O} ${C} P 8`);
    expect(j.dev('snapo').target.status('table')).toBe(`${O} ${C2} PO 8`);
    await j.remove('snapo');
    await j.remove('snap');
    await j.remove('origin');
    expect(md5(await j.image(C))).toBe(md5(fixtureImage('p8-full.cow40.img.gz')));
    expect(md5(await j.image(C2))).toBe(md5(fixtureImage('p8-full.cow64.img.gz')));
    // Reactivated: the header says valid=0, the table loads and shows Invalid.
    await j.create('snap', `0 2048 snapshot ${O} ${C} P 8`);
    expect(j.dev('snap').target.status('info')).toBe('Invalid');
  });

  it('a full area whose successor does not fit invalidates on commit, leaving the area unwritten (p1-full)', async () => {
    const kernel = fixtureText('p1-full.txt');
    const C = '/dev/vdb';
    const j = await Job.start({ [C]: 100 });
    await snapshotStack(j, C, 'P', 1);
    for (let i = 0; i < 14; i++) {
      await j.wr('origin', i * 8, 8, 'NEW');
      if (i >= 9) j.st(`after ${i + 1} writes`);
    }
    for (let i = 10; i <= 14; i++) {
      const at = j.out.indexOf(`--- after ${i} writes`);
      expect(j.out.slice(at, at + 3)).toEqual(block(kernel, `after ${i} writes`));
    }
    expect(
      j.rig.events.some(
        (e) => e.type === 'snapshot.invalidated' && e.reason === 'Invalidating snapshot: Error reading/writing.',
      ),
    ).toBe(true);
    await j.remove('snap');
    await j.remove('origin');
    expect(md5(await j.image(C))).toBe(md5(fixtureImage('p1-full.cow100.img.gz')));
  });
});

describe('transient store (n8)', () => {
  it('allocates from COW chunk 0, keeps nothing else on disk, and reports 0 metadata', async () => {
    const kernel = fixtureText('n8.txt');
    const C = '/dev/vdb';
    const j = await Job.start({ [C]: 64 });
    await snapshotStack(j, C, 'N', 8);
    j.st('fresh');
    await j.wr('origin', 24, 8, 'NEW');
    await j.wr('snap', 40, 8, 'SNA');
    await j.wr('snap', 57, 1, 'SNB');
    j.st('after 3 exceptions');
    expect(await j.md5('snap')).toBe(md5Line(kernel, 'snap'));
    expect(j.dev('snap').target.status('table')).toBe(`${O} ${C} N 8`);
    for (const c of [10, 11, 12, 13, 14, 15]) {
      await j.wr('origin', c * 8, 8, 'NW2');
      j.st(`after origin chunk ${c}`);
    }
    for (const label of [
      'fresh',
      'after 3 exceptions',
      ...[10, 11, 12, 13, 14, 15].map((c) => `after origin chunk ${c}`),
    ]) {
      const at = j.out.indexOf(`--- ${label}`);
      expect(j.out.slice(at, at + 3)).toEqual(block(kernel, label));
    }
    await expect(read(j.dev('snap'), 0, 8)).rejects.toMatchObject({ code: 'EIO' });
    await j.remove('snap');
    await j.remove('origin');
    expect(md5(await j.image(C))).toBe(md5(fixtureImage('n8.cow64.img.gz')));
  });
});

describe('snapshot-merge (merge)', () => {
  it('merges by handover, gives the other snapshot its copies first, and merges a COW loaded directly', async () => {
    const kernel = fixtureText('merge.txt');
    const C1 = '/dev/vdb';
    const C2 = '/dev/vdc';
    const j = await Job.start({ [C1]: 2048, [C2]: 2048 });
    await j.create('origin', `0 2048 snapshot-origin ${O}`);
    await j.suspend('origin');
    await j.create('snap1', `0 2048 snapshot ${O} ${C1} P 8`);
    await j.resume('origin');
    for (const c of [4, 5, 6, 10, 20]) await j.wr('origin', c * 8, 8, 'NEW');
    await j.wr('snap1', 240, 8, 'SNA');
    await j.suspend('origin');
    await j.create('snap2', `0 2048 snapshot ${O} ${C2} P 8`);
    await j.resume('origin');
    await j.wr('origin', 320, 8, 'NW2');
    j.st('before merge');
    expect(j.out).toEqual(block(kernel, 'before merge'));
    const snap1Md5 = await j.md5('snap1');
    expect(snap1Md5).toBe(md5Line(kernel, 'snap1'));
    expect(await j.md5('snap2')).toBe(md5Line(kernel, 'snap2'));

    await j.suspend('origin');
    await j.suspend('snap1');
    await j.reload('origin', `0 2048 snapshot-merge ${O} ${C1} P 8`);
    await waitMerged(j, 'origin');
    await j.resume('snap1');
    j.st('after merge 1');
    expect(j.out.slice(j.out.indexOf('--- after merge 1'))).toEqual(block(kernel, 'after merge 1'));
    expect(j.dev('origin').target.status('table')).toBe(`${O} ${C1} P 8`);
    expect(j.dev('snap1').target.status('table')).toBe(`${O} ${C1} P 0`);
    expect(await j.md5('origin')).toBe(snap1Md5);
    expect(await j.md5('snap2')).toBe(md5Line(kernel, 'snap2', 1));
    await expect(read(j.dev('snap1'), 0, 8)).rejects.toMatchObject({ code: 'EIO' });
    await j.remove('snap1');
    await j.remove('snap2');
    await j.remove('origin');

    await j.create('origin', `0 2048 snapshot-merge ${O} ${C2} P 8`);
    await waitMerged(j, 'origin');
    expect(j.dev('origin').target.status('info')).toBe('16/2048 16');
    expect(await j.md5('origin')).toBe(md5Line(kernel, 'origin', 2));
    await j.remove('origin');
    expect(md5(await j.image(C1))).toBe(md5(fixtureImage('merge.cow2048.img.gz')));
    expect(md5(await j.image(C2))).toBe(md5(fixtureImage('merge.cow2048b.img.gz')));
  });
});

/** Polls the merge target's status (as the job does) until sectors_allocated == metadata_sectors. */
async function waitMerged(j: Job, name: string): Promise<void> {
  for (let i = 0; i < 10_000; i++) {
    const [u, m] = j.dev(name).target.status('info').split(' ');
    if (u?.split('/')[0] === m) return;
    await new Promise((r) => setImmediate(r));
  }
  throw new Error(`merge of ${name} did not finish: ${j.dev(name).target.status('info')}`);
}

describe('a COW written by dmsim, activated by the kernel (dmsim-c2)', () => {
  const kernel = fixtureText('dmsim-c2.txt');
  const made = JSON.parse(readFileSync(new URL('../../fixtures/snapshot/dmsim/c2.json', import.meta.url), 'utf8')) as {
    status: string;
    md5: string;
  };
  const dmsimCow = gunzipSync(readFileSync(new URL('../../fixtures/snapshot/dmsim/c2.cow.img.gz', import.meta.url)));

  it('is the COW dmsim writes today, and the kernel read it back with the same status and data', async () => {
    const j = await Job.start({ '/dev/vdb': 320 });
    await snapshotStack(j, '/dev/vdb', 'P', 2);
    for (const p of C2_ORIGIN_PAGES) await j.wr('origin', p * 8, 8, 'NEW');
    for (const [s, n] of C2_SNAP_WRITES) await j.wr('snap', s, n, 'SNA');
    expect(j.dev('snap').target.status('info')).toBe(made.status);
    await j.remove('snap');
    await j.remove('origin');
    expect((await j.image('/dev/vdb')).equals(dmsimCow)).toBe(true);
    expect(block(kernel, 'activated')[2]).toBe(`snap: 0 2048 snapshot ${made.status}`);
    expect(md5Line(kernel, 'snap')).toBe(made.md5);
    expect(kernel).toContain('snapshot 254:0 254:16 P 2'); // chunk size 0 in the table: taken from dmsim's header
  });

  it('carrying on from that COW, dmsim and the kernel write the same bytes', async () => {
    const j = await Job.start({ '/dev/vdb': dmsimCow });
    // The origin as the kernel job rebuilds it: the NEW pages written straight to the device.
    const raw = j.rig.devices.get('/dev/vda')!;
    for (const p of C2_ORIGIN_PAGES) await raw.write(p * 8, pattern('NEW', p * 8, 8));
    await snapshotStack(j, '/dev/vdb', 'P', 0);
    j.st('activated');
    expect(j.dev('snap').target.status('table')).toBe('/dev/vda /dev/vdb P 2');
    for (const p of [250, 251, 252, 253, 1, 2]) await j.wr('origin', p * 8, 8, 'NW2');
    await j.wr('snap', 1500, 2, 'SNB');
    j.st('after more writes');
    for (const label of ['activated', 'after more writes']) {
      const at = j.out.indexOf(`--- ${label}`);
      expect(j.out.slice(at, at + 3)).toEqual(block(kernel, label));
    }
    expect(await j.md5('snap')).toBe(md5Line(kernel, 'snap', 1));
    await j.remove('snap');
    await j.remove('origin');
    expect(md5(await j.image('/dev/vdb'))).toBe(md5(fixtureImage('dmsim-c2.c2.cow.img.gz')));
  });
});

describe('reload hands exceptions over (reload)', () => {
  it('keeps a transient store and its chunk size, takes the new table PO flag, ignores origin writes past the end', async () => {
    const kernel = fixtureText('reload.txt');
    const [C, C3] = ['/dev/vdb', '/dev/vdc'];
    const j = await Job.start({ [C]: 2048, [C3]: 64 });
    await j.create('origin', `0 2048 snapshot-origin ${O}`);
    await j.suspend('origin');
    await j.create('sn', `0 2048 snapshot ${O} ${C} N 8`);
    await j.create('sp', `0 1024 snapshot ${O} ${C3} P 8`);
    await j.resume('origin');
    await j.wr('origin', 0, 32, 'NEW');
    await j.wr('origin', 1600, 8, 'NEW');
    j.st('before reload');
    await j.suspend('origin');
    await j.suspend('sn');
    await j.reload('sn', `0 2048 snapshot ${O} ${C} N 16`);
    await j.suspend('sp');
    await j.reload('sp', `0 1024 snapshot ${O} ${C3} PO 8`);
    await j.resume('origin');
    j.st('after reload');
    expect(j.dev('sn').target.status('table')).toBe(`${O} ${C} N 8`);
    expect(j.dev('sp').target.status('table')).toBe(`${O} ${C3} PO 8`);
    expect(await j.md5('sn')).toBe(md5Line(kernel, 'sn'));
    const results: string[] = [];
    for (const c of [100, 101, 102])
      results.push(
        await j.wr('sp', c * 8, 8, 'SNA').then(
          () => 'ok',
          () => 'failed',
        ),
      );
    expect(results).toEqual(['ok', 'ok', 'failed']);
    j.st('after sp writes');
    for (const label of ['before reload', 'after reload', 'after sp writes']) {
      const at = j.out.indexOf(`--- ${label}`);
      expect(j.out.slice(at, at + 4)).toEqual(block(kernel, label));
    }
  });
});

describe('merge across metadata areas (merge-areas)', () => {
  it('steps back area by area, clears every record, and leaves the COW byte-identical to the kernel', async () => {
    const kernel = fixtureText('merge-areas.txt');
    const C = '/dev/vdb';
    const j = await Job.start({ [C]: 120 });
    await snapshotStack(j, C, 'P', 1);
    for (let i = 0; i < 10; i++) await j.wr('origin', ((i * 37 + 5) % 256) * 8, 8, 'NEW');
    j.st('before merge');
    expect(j.out).toEqual(block(kernel, 'before merge'));
    await j.remove('snap');
    await j.remove('origin');
    await j.create('origin', `0 2048 snapshot-merge ${O} ${C} P 1`);
    for (let i = 0; i < 100_000 && j.dev('origin').target.status('info') !== '2/120 2'; i++)
      await new Promise((r) => setImmediate(r));
    j.out.length = 0;
    j.st('merged');
    expect(j.out).toEqual(block(kernel, 'merged'));
    expect(await j.md5('origin')).toBe(md5Line(kernel, 'origin'));
    await j.remove('origin');
    expect(md5(await j.image(C))).toBe(md5(fixtureImage('merge-areas.cow120.img.gz')));
  });
});
