// Kernel compatibility, both ways, against what Linux 6.1 printed and wrote in the oracle jobs of
// fixtures/snapshot/jobs (run.sh): dmsim replays each job and must print the same status lines and md5s and
// leave a byte-identical COW; and dmsim activates the kernel's COWs and reads what the kernel read.

import { describe, expect, it } from 'vitest';
import { Job, block } from './support/kernel-job.js';
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
      expect(j.out.slice(j.out.indexOf(`--- ${label}`), j.out.indexOf(`--- ${label}`) + 3)).toEqual(block(kernel, label));
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
    expect(md5(await read(snap, 24, 8))).toBe(md5((await import('./support/pattern.js')).pattern('OLD', 24, 8)));
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
    for (const label of ['fresh', 'after 4 writes', 'after 5 writes', 'after 8 writes', 'after 9 writes', 'after 12 writes', 'after 14 writes']) {
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
