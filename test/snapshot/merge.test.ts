// snapshot-merge through DeviceMapper: LVM's lvconvert --merge sequence, merging with and without I/O, a merge
// stopped by suspend and continued on resume, a merge failed by a COW error and finished by a new activation,
// and the one-merge-per-origin rule. Expectation: the origin ends up holding what the snapshot showed.

import { describe, expect, it } from 'vitest';
import { AutoScheduler } from '../../src/kcopyd/scheduler.js';
import { Lab, stamp } from './support/dm.js';

const S = 8192;
/** Origin chunks written after the snapshot: consecutive ones become runs merged with one copy each. */
const CHUNKS = [4, 5, 6, 10, 20, 21, 40, 60, 61, 62, 63, 100];

async function withSnapshot(lab: Lab): Promise<Buffer> {
  await lab.disk('data', S, stamp('OLD', 0, S));
  await lab.disk('meta', S);
  await lab.dm.create('cow', `0 ${S} linear meta 0`);
  await lab.dm.create('origin', `0 ${S} snapshot-origin data`);
  await lab.takeSnapshot('origin', 'snap', `0 ${S} snapshot data /dev/mapper/cow P 8`);
  for (const c of CHUNKS) await lab.write('origin', c * 8, stamp('NEW', c * 8, 8));
  await lab.write('snap', 300 * 8 + 3, stamp('SNP', 300 * 8 + 3, 2));
  return lab.readAll('snap');
}

/** lvconvert --merge: suspend origin and snapshot, load snapshot-merge on the origin, resume the origin. */
async function startMerge(lab: Lab): Promise<void> {
  await lab.dm.suspend('origin');
  await lab.dm.suspend('snap');
  await lab.dm.load('origin', `0 ${S} snapshot-merge data /dev/mapper/cow P 8`);
  await lab.dm.resume('origin');
}

function pausedLab(): { lab: Lab; scheduler: AutoScheduler } {
  const scheduler = new AutoScheduler();
  return { lab: new Lab({ scheduler }), scheduler };
}

describe('snapshot-merge', () => {
  it('merges with the origin unused: the origin becomes the snapshot, status ends at 2C/total 2C', async () => {
    const lab = new Lab();
    const want = await withSnapshot(lab);
    await startMerge(lab);
    expect(await lab.mergeDone('origin')).toBe(`16/${S} 16`);
    expect(await lab.status('snap')).toBe('Invalid');
    expect((await lab.readAll('origin')).equals(want)).toBe(true);
    const progress = lab.events.filter((e) => e.type === 'snapshot.merge.progress');
    // Newest first, one copy per run of consecutive chunks: 300, 100, 60..63, 40, 20..21, 10, 4..6.
    expect(progress.map((e) => (e.type === 'snapshot.merge.progress' ? [e.firstOldChunk, e.chunks] : []))).toEqual([
      [300, 1],
      [100, 1],
      [60, 4],
      [40, 1],
      [20, 2],
      [10, 1],
      [4, 3],
    ]);
    // Copies before the merge are the snapshot's COW copies; the merge's own copies are owned by 'merge'.
    const owners = new Set(
      lab.events.flatMap((e) =>
        e.type === 'kcopyd.job' && e.phase === 'queued' ? [`${e.owner}:${e.source?.device}`] : [],
      ),
    );
    expect([...owners].sort()).toEqual(['merge:/dev/mapper/cow', 'snapshot:data']);
    // The target goes on as the origin: writes now need no copy and go straight down.
    await lab.write('origin', 0, stamp('END', 0, 8));
    expect((await lab.read('origin', 0, 8)).equals(stamp('END', 0, 8))).toBe(true);
    await lab.dm.close();
  });

  it('merges while the origin is written: writes land on the origin whatever chunk they hit', async () => {
    const lab = new Lab();
    const want = await withSnapshot(lab);
    await startMerge(lab);
    const writes: Promise<void>[] = [];
    for (const [i, c] of [5, 7, 60, 61, 300, 500].entries()) {
      const data = stamp(`L${i}`, c * 8 + 1, 6);
      data.copy(want, (c * 8 + 1) * 512);
      writes.push(lab.write('origin', c * 8 + 1, data));
    }
    await Promise.all(writes);
    expect(await lab.mergeDone('origin')).toBe(`16/${S} 16`);
    expect((await lab.readAll('origin')).equals(want)).toBe(true);
    await lab.dm.close();
  });

  it('stops on suspend, keeps its progress, and continues on resume', async () => {
    const { lab, scheduler } = pausedLab();
    const want = await withSnapshot(lab);
    let suspended: Promise<void> | undefined;
    lab.bus.on((e) => {
      if (e.type === 'snapshot.merge.progress' && !suspended) suspended = lab.dm.suspend('origin');
    });
    await startMerge(lab);
    while (!suspended) await new Promise((r) => setImmediate(r));
    await suspended;
    const during = await lab.status('origin');
    scheduler.pause();
    for (let i = 0; i < 50; i++) await new Promise((r) => setImmediate(r));
    expect(await lab.status('origin')).toBe(during);
    const [used] = during.split('/');
    expect(Number(used)).toBeLessThan(8 * (2 + CHUNKS.length + 1));
    expect(Number(used)).toBeGreaterThan(16);
    expect(lab.events.some((e) => e.type === 'snapshot.merge.state' && e.state === 'stopped')).toBe(true);
    scheduler.resume();
    await lab.dm.resume('origin');
    expect(await lab.mergeDone('origin')).toBe(`16/${S} 16`);
    expect((await lab.readAll('origin')).equals(want)).toBe(true);
    await lab.dm.close();
  });

  it('a COW read error mid-merge shows Merge failed; a new activation from the COW finishes the merge', async () => {
    const lab = new Lab();
    const want = await withSnapshot(lab);
    let broken: Promise<void> | undefined;
    lab.bus.on((e) => {
      // After the first run is merged the COW's data chunks start failing (header and area 0 still work).
      if (e.type === 'snapshot.merge.progress' && !broken)
        broken = lab.reload('cow', `0 16 linear meta 0\n16 ${S - 16} error`);
    });
    await startMerge(lab);
    while (!broken) await new Promise((r) => setImmediate(r));
    await broken;
    for (let i = 0; i < 1000 && (await lab.status('origin')) !== 'Merge failed'; i++)
      await new Promise((r) => setImmediate(r));
    expect(await lab.status('origin')).toBe('Merge failed');
    expect(
      lab.events.some(
        (e) => e.type === 'snapshot.merge.state' && e.state === 'failed' && e.reason.includes('Read error'),
      ),
    ).toBe(true);
    // I/O still goes through the remaining exceptions: chunk 4 is still in the (now failing) COW.
    await expect(lab.read('origin', 4 * 8, 8)).rejects.toMatchObject({ code: 'EIO' });
    // Reactivation (after the COW is repaired) reads the metadata back and completes the merge.
    await lab.dm.remove('snap');
    await lab.dm.remove('origin');
    await lab.reload('cow', `0 ${S} linear meta 0`);
    await lab.dm.create('origin', `0 ${S} snapshot-merge data /dev/mapper/cow P 8`);
    expect(await lab.mergeDone('origin')).toBe(`16/${S} 16`);
    expect((await lab.readAll('origin')).equals(want)).toBe(true);
    await lab.dm.close();
  });

  it('allows one merging snapshot per origin', async () => {
    const { lab, scheduler } = pausedLab();
    await withSnapshot(lab);
    await lab.disk('meta2', S);
    await lab.takeSnapshot('origin', 'snap2', `0 ${S} snapshot data meta2 P 8`);
    await lab.write('origin', 700 * 8, stamp('NEW', 700 * 8, 8));
    scheduler.pause(); // keep the first merge running
    await startMerge(lab);
    await expect(lab.dm.create('m2', `0 ${S} snapshot-merge data meta2 P 8`)).rejects.toThrow(
      'A snapshot is already merging.',
    );
    scheduler.resume();
    await lab.mergeDone('origin');
    // snap2 kept its view: the merge gave it copies of every chunk it overwrote on the origin.
    expect((await lab.read('snap2', 0, 800 * 8)).subarray(4 * 8 * 512, 5 * 8 * 512).equals(stamp('NEW', 32, 8))).toBe(
      true,
    );
    await lab.dm.close();
  });
});
