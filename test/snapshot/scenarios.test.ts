// The dmtest and LVM2 snapshot scenarios of reference/snapshot.md section 7, as integration tests through
// DeviceMapper (tables, suspend/resume, stacking on linear devices), with expectations from the kernel's
// documented results and the LVM test suite's numbers.

import { describe, expect, it } from 'vitest';
import { AutoScheduler } from '../../src/kcopyd/scheduler.js';
import { snapshotParameters } from '../../targets/snapshot/parameters.js';
import { Lab, snapPercent, stamp } from './support/dm.js';

const K = 8; // dmtest's k(4): 4 KiB chunks

/** dmtest's snapshot_stack: real + cow linear devices, origin switched to snapshot-origin with the snapshot made. */
async function stack(store: 'P' | 'N', originSectors: number, cowSectors: number, chunk = K): Promise<Lab> {
  const lab = new Lab();
  await lab.disk('data', originSectors, stamp('OLD', 0, originSectors));
  await lab.disk('meta', cowSectors);
  await lab.dm.create('real', `0 ${originSectors} linear data 0`);
  await lab.dm.create('cow', `0 ${cowSectors} linear meta 0`);
  await lab.dm.create('origin', `0 ${originSectors} linear /dev/mapper/real 0`);
  await lab.snapshot('origin', '/dev/mapper/real', 'snap', '/dev/mapper/cow', store, chunk);
  return lab;
}

describe.each(['P', 'N'] as const)('dmtest snapshot scenarios, store %s', (store) => {
  it('bring_up_snapshot_target: a 1 MiB COW comes up with the fresh usage line and the normalised table', async () => {
    const lab = await stack(store, 8192, 2048);
    expect(await lab.status('snap')).toBe(store === 'P' ? '16/2048 16' : '0/2048 0');
    expect(await lab.table('snap')).toBe(`/dev/mapper/real /dev/mapper/cow ${store} 8`);
    expect(await lab.table('origin')).toBe('/dev/mapper/real');
    expect(await lab.status('origin')).toBe('');
    // Neither target has a message handler (ctr.sh: the kernel answers EINVAL).
    await expect(lab.dm.message('snap', 0, ['hello'])).rejects.toMatchObject({ code: 'EINVAL' });
    await expect(lab.dm.message('origin', 0, ['hello'])).rejects.toMatchObject({ code: 'EINVAL' });
    await lab.dm.close();
  });

  it('origin_writes_do_not_affect_snapshot and snapshot_writes_do_not_affect_origin', async () => {
    const lab = await stack(store, 4096, 8192);
    await lab.write('origin', 0, stamp('ORI', 0, 2048));
    await lab.write('snap', 2048, stamp('SNP', 2048, 2048));
    expect((await lab.read('snap', 0, 2048)).equals(stamp('OLD', 0, 2048))).toBe(true);
    expect((await lab.read('origin', 2048, 2048)).equals(stamp('OLD', 2048, 2048))).toBe(true);
    expect((await lab.read('origin', 0, 2048)).equals(stamp('ORI', 0, 2048))).toBe(true);
    expect((await lab.read('snap', 2048, 2048)).equals(stamp('SNP', 2048, 2048))).toBe(true);
    await lab.dm.close();
  });

  it('create_lots_of_snaps: 101 snapshots of one origin each keep the old data', async () => {
    const lab = new Lab();
    await lab.disk('data', 1024, stamp('OLD', 0, 1024));
    await lab.dm.create('origin', '0 1024 snapshot-origin data');
    for (let i = 0; i < 101; i++) {
      await lab.disk(`cow${i}`, 256);
      await lab.dm.suspend('origin');
      await lab.dm.create(`snap${i}`, `0 1024 snapshot data cow${i} ${store} ${K}`);
      await lab.dm.resume('origin');
    }
    await lab.write('origin', 8, stamp('NEW', 8, 16));
    for (const i of [0, 50, 100]) {
      expect((await lab.read(`snap${i}`, 0, 1024)).equals(stamp('OLD', 0, 1024))).toBe(true);
      // Two chunks copied: 2 exceptions past the header and area (P) or from chunk 0 (N).
      expect(await lab.status(`snap${i}`)).toBe(store === 'P' ? '32/256 16' : '16/256 0');
    }
    expect((await lab.read('origin', 8, 16)).equals(stamp('NEW', 8, 16))).toBe(true);
    await lab.dm.close();
  });

  it('parallel_io_to_many_snaps: 16 snapshots and the origin written in parallel', async () => {
    const lab = new Lab();
    const S = 512;
    await lab.disk('data', S, stamp('OLD', 0, S));
    await lab.dm.create('origin', `0 ${S} snapshot-origin data`);
    const expectSnap: Buffer[] = [];
    for (let i = 0; i < 16; i++) {
      await lab.disk(`cow${i}`, 2048);
      await lab.dm.suspend('origin');
      await lab.dm.create(`snap${i}`, `0 ${S} snapshot data cow${i} ${store} ${[8, 16, 32, 64][i % 4]}`);
      await lab.dm.resume('origin');
      expectSnap.push(stamp('OLD', 0, S));
    }
    const originModel = stamp('OLD', 0, S);
    const ios: Promise<void>[] = [];
    for (let n = 0; n < 64; n++) {
      const dev = n % 17; // 16 = origin
      const sector = (n * 37) % (S - 24);
      const count = 1 + ((n * 11) % 24);
      const data = stamp(`W${n}`, sector, count);
      // One writer per device at a time: writes to one device are not ordered by the kernel either.
      const model = dev === 16 ? originModel : expectSnap[dev]!;
      data.copy(model, sector * 512);
      ios.push(lab.write(dev === 16 ? 'origin' : `snap${dev}`, sector, data));
      if (n % 17 === 16) await Promise.all(ios.splice(0));
    }
    await Promise.all(ios);
    expect((await lab.readAll('origin')).equals(originModel)).toBe(true);
    for (let i = 0; i < 16; i++) expect((await lab.readAll(`snap${i}`)).equals(expectSnap[i]!), `snap${i}`).toBe(true);
    await lab.dm.close();
  });
});

describe('dmtest chunk size limits', () => {
  it('non_power_of_2_chunk_size_fails (65), too_large_chunk_size_fails (2^22), largest_chunk_size_succeeds (2^21)', async () => {
    const lab = new Lab();
    await lab.disk('data', 2048);
    await lab.disk('big', 2 ** 21 + 8);
    await lab.disk('data2', 2048);
    await expect(lab.dm.create('s1', '0 2048 snapshot data big N 65')).rejects.toThrow(
      'Chunk size is not a power of 2',
    );
    await expect(lab.dm.create('s2', `0 2048 snapshot data big N ${2 ** 22}`)).rejects.toThrow(
      /Chunk size is too high|not a power of 2/,
    );
    await lab.dm.create('s3', `0 2048 snapshot data big N ${2 ** 21}`);
    // A persistent store never allocates a 1 GiB header buffer for a COW that cannot hold one chunk.
    await expect(lab.dm.create('s4', `0 2048 snapshot data data2 P ${2 ** 21}`)).rejects.toThrow(
      'smaller than one chunk',
    );
    expect(await lab.table('s3')).toBe(`data big N ${2 ** 21}`);
    await lab.dm.close();
  });

  it('huge_chunk_size (524288) with I/O on the origin: the partial last chunk is copied', async () => {
    const lab = new Lab();
    await lab.disk('data', 4096, stamp('OLD', 0, 4096));
    await lab.disk('big', 524288 * 2);
    await lab.dm.create('origin', '0 4096 snapshot-origin data');
    await lab.takeSnapshot('origin', 'snap', '0 4096 snapshot data big N 524288');
    await lab.write('origin', 100, stamp('NEW', 100, 50));
    expect(await lab.status('snap')).toBe(`524288/${524288 * 2} 0`);
    expect((await lab.readAll('snap')).equals(stamp('OLD', 0, 4096))).toBe(true);
    // Only the 4096 sectors the origin has were copied.
    expect(
      lab.events
        .filter((e) => e.type === 'snapshot.copy.started')
        .map((e) => (e.type === 'snapshot.copy.started' ? e.sectors : 0)),
    ).toEqual([4096]);
    await lab.dm.close();
  });
});

describe('LVM2 snapshot-usage: exact capacity and Snap%', () => {
  const n = 32; // a 128 KiB origin in 4 KiB chunks
  /** LVM's _cow_max_size / dmtest max_snapshot_size for a persistent store. */
  const full = (1 + n + Math.floor((n + 256) / 256)) * K;

  it('a 100% COW holds every chunk of the origin; one chunk less does not', async () => {
    for (const [cow, survives] of [
      [full, true],
      [full - K, false],
    ] as const) {
      const lab = new Lab();
      await lab.disk('data', n * K, stamp('OLD', 0, n * K));
      await lab.disk('cow', cow);
      await lab.dm.create('origin', `0 ${n * K} snapshot-origin data`);
      await lab.takeSnapshot('origin', 'snap', `0 ${n * K} snapshot data cow P ${K}`);
      await lab.write('origin', 0, stamp('NEW', 0, n * K)); // the origin never fails
      expect(await lab.status('snap')).toBe(survives ? `${full}/${full} 16` : 'Invalid');
      if (survives) expect((await lab.readAll('snap')).equals(stamp('OLD', 0, n * K))).toBe(true);
      else await expect(lab.readAll('snap')).rejects.toMatchObject({ code: 'EIO' });
      await lab.dm.close();
    }
  });

  it('25% of the origin holds 32k of writes and 33k does not', async () => {
    for (const [kib, ok] of [
      [32, true],
      [33, false],
    ] as const) {
      const lab = new Lab();
      await lab.disk('data', n * K);
      await lab.disk('cow', (2 + 8) * K); // header + area + 8 chunks
      await lab.dm.create('origin', `0 ${n * K} snapshot-origin data`);
      await lab.takeSnapshot('origin', 'snap', `0 ${n * K} snapshot data cow P ${K}`);
      const write = lab.write('snap', 0, stamp('SNP', 0, kib * 2));
      if (ok) await write;
      else await expect(write).rejects.toMatchObject({ code: 'EIO' });
      expect(await lab.status('snap')).toBe(ok ? '80/80 16' : 'Invalid');
      await lab.dm.close();
    }
  });

  it('Snap%: 1 exception in a 100K COW is 12.00%; a 3-chunk COW with 1 exception is 100.00%, 50.00% once doubled', async () => {
    const lab = new Lab();
    await lab.disk('data', 2048);
    await lab.disk('cowA', 200);
    await lab.disk('metaB', 48);
    await lab.dm.create('cowB', '0 24 linear metaB 0');
    await lab.dm.create('origin', '0 2048 snapshot-origin data');
    await lab.dm.suspend('origin');
    await lab.dm.create('a', '0 2048 snapshot data cowA P 8');
    await lab.dm.create('b', '0 2048 snapshot data /dev/mapper/cowB P 8');
    await lab.dm.resume('origin');
    expect(snapPercent(await lab.status('a'))).toBe('0.00');
    await lab.write('origin', 0, stamp('NEW', 0, 8));
    expect(snapPercent(await lab.status('a'))).toBe('12.00');
    expect(snapPercent(await lab.status('b'))).toBe('100.00');
    // lvextend of the COW: the COW device grows, the snapshot table is reloaded (handing its exceptions over).
    await lab.dm.suspend('b');
    await lab.reload('cowB', '0 48 linear metaB 0');
    await lab.dm.load('b', '0 2048 snapshot data /dev/mapper/cowB P 8');
    await lab.dm.resume('b');
    expect(await lab.status('b')).toBe('24/48 16');
    expect(snapPercent(await lab.status('b'))).toBe('50.00');
    expect((await lab.read('b', 0, 8)).equals(Buffer.alloc(4096))).toBe(true);
    await lab.dm.close();
  });
});

describe('LVM2 full and failing COWs', () => {
  it('snapshot-cow-reduce: 16M origin, 8M COW; 4M of origin writes keep it, snapshot writes until ENOSPC invalidate it', async () => {
    const lab = new Lab();
    const O = 32768;
    await lab.disk('data', O);
    await lab.disk('cow', 16384);
    await lab.dm.create('origin', `0 ${O} snapshot-origin data`);
    await lab.takeSnapshot('origin', 'snap', `0 ${O} snapshot data cow P ${K}`);
    await lab.write('origin', 0, stamp('ORI', 0, 8192));
    expect(await lab.status('snap')).toMatch(/^\d+\/16384 \d+$/);
    let failedAt = -1;
    for (let s = 8192; s < O; s += 256) {
      const ok = await lab.write('snap', s, stamp('SNP', s, 256)).then(
        () => true,
        () => false,
      );
      if (!ok) {
        failedAt = s;
        break;
      }
    }
    expect(failedAt).toBeGreaterThan(8192);
    expect(await lab.status('snap')).toBe('Invalid');
    expect(lab.events.some((e) => e.type === 'snapshot.invalidated')).toBe(true);
    expect((await lab.dm.info('snap'))[0]!.eventNr).toBeGreaterThan(0);
    // The origin is unaffected.
    await lab.write('origin', O - 8, stamp('END', O - 8, 8));
    expect((await lab.read('origin', 0, 8192)).equals(stamp('ORI', 0, 8192))).toBe(true);
    await lab.dm.close();
  });

  it('lvcreate-small-snap: a one-chunk COW is refused; a two-chunk one loads and cannot hold an exception', async () => {
    const lab = new Lab();
    await lab.disk('data', 2048);
    await lab.disk('cow1', 8);
    await lab.disk('cow2', 16);
    await lab.dm.create('origin', '0 2048 snapshot-origin data');
    await expect(lab.dm.create('s1', '0 2048 snapshot data cow1 P 8')).rejects.toThrow(
      'Failed to read snapshot metadata',
    );
    await lab.takeSnapshot('origin', 's2', '0 2048 snapshot data cow2 P 8');
    expect(await lab.status('s2')).toBe('16/16 16');
    await lab.write('origin', 0, stamp('NEW', 0, 8));
    expect(await lab.status('s2')).toBe('Invalid');
    await lab.dm.close();
  });

  it('a COW write error invalidates the snapshot; the origin write still succeeds', async () => {
    const lab = new Lab();
    await lab.disk('data', 2048, stamp('OLD', 0, 2048));
    await lab.disk('meta', 2048);
    await lab.dm.create('cow', '0 2048 linear meta 0');
    await lab.dm.create('origin', '0 2048 snapshot-origin data');
    await lab.takeSnapshot('origin', 'snap', '0 2048 snapshot data /dev/mapper/cow P 8');
    await lab.reload('cow', '0 16 linear meta 0\n16 2032 error');
    await lab.write('origin', 0, stamp('NEW', 0, 8));
    expect(await lab.status('snap')).toBe('Invalid');
    expect((await lab.read('origin', 0, 8)).equals(stamp('NEW', 0, 8))).toBe(true);
    expect(
      lab.events.some((e) => e.type === 'snapshot.invalidated' && e.reason.includes('Error reading/writing')),
    ).toBe(true);
    await lab.dm.close();
  });
});

describe('LVM2 snapshot-remove-dmsetup', () => {
  it('a snapshot suspended and removed while its origin is suspended leaves the origin writing straight through', async () => {
    const lab = new Lab();
    await lab.disk('data', 2048, stamp('OLD', 0, 2048));
    await lab.disk('cow', 2048);
    await lab.dm.create('origin', '0 2048 snapshot-origin data');
    await lab.takeSnapshot('origin', 'snap', '0 2048 snapshot data cow P 8');
    await lab.write('origin', 0, stamp('NEW', 0, 8));
    await lab.dm.suspend('origin');
    await lab.dm.suspend('snap');
    await lab.dm.remove('snap');
    await lab.dm.resume('origin');
    const copies = lab.events.filter((e) => e.type === 'snapshot.copy.started').length;
    await lab.write('origin', 64, stamp('NEW', 64, 8));
    expect(lab.events.filter((e) => e.type === 'snapshot.copy.started').length).toBe(copies);
    expect((await lab.read('origin', 64, 8)).equals(stamp('NEW', 64, 8))).toBe(true);
    await lab.dm.close();
  });
});

describe('LVM2 snapshot-reactivate and reload', () => {
  it('the md5 of the snapshot survives odd-sized origin writes and deactivate/reactivate', async () => {
    const lab = new Lab();
    await lab.disk('data', 8192, stamp('OLD', 0, 8192));
    await lab.disk('cow', 8192);
    await lab.dm.create('origin', '0 8192 snapshot-origin data');
    await lab.takeSnapshot('origin', 'snap', '0 8192 snapshot data cow P 16');
    const before = await lab.readAll('snap');
    // 1234567-byte blocks end mid-sector; the block layer writes whole sectors: 2412-sector pieces at odd offsets.
    for (let s = 3; s + 2412 <= 8192; s += 2413) await lab.write('origin', s, stamp('ODD', s, 2412));
    expect((await lab.readAll('snap')).equals(before)).toBe(true);
    const status = await lab.status('snap');
    await lab.dm.remove('snap');
    await lab.dm.create('snap', '0 8192 snapshot data cow P 16');
    expect(await lab.status('snap')).toBe(status);
    expect((await lab.readAll('snap')).equals(before)).toBe(true);
    await lab.dm.close();
  });

  it('dmsetup reload of a transient snapshot hands its exceptions to the new table', async () => {
    const lab = new Lab();
    await lab.disk('data', 2048, stamp('OLD', 0, 2048));
    await lab.disk('cow', 2048);
    await lab.dm.create('origin', '0 2048 snapshot-origin data');
    await lab.takeSnapshot('origin', 'snap', '0 2048 snapshot data cow N 8');
    await lab.write('origin', 0, stamp('NEW', 0, 64));
    await lab.dm.suspend('origin');
    await lab.reload('snap', '0 2048 snapshot data cow N 16');
    await lab.dm.resume('origin');
    // The table's chunk size is ignored: the store (and its chunk size) came over.
    expect(await lab.table('snap')).toBe('data cow N 8');
    expect(await lab.status('snap')).toBe('64/2048 0');
    expect((await lab.readAll('snap')).equals(stamp('OLD', 0, 2048))).toBe(true);
    await lab.dm.close();
  });
});

describe('discards sent to a snapshot', () => {
  async function discardLab(features: string): Promise<Lab> {
    const lab = new Lab();
    await lab.disk('data', 2048, stamp('OLD', 0, 2048));
    await lab.disk('cow', 2048);
    await lab.dm.create('origin', '0 2048 snapshot-origin data');
    await lab.takeSnapshot('origin', 'snap', `0 2048 snapshot data cow P 8${features}`);
    await lab.write('origin', 0, stamp('NEW', 0, 16)); // chunks 0 and 1 get exceptions
    return lab;
  }
  const discard = async (lab: Lab, name: string, sector: number, count: number) => {
    const dev = await lab.dm.open(name);
    try {
      await dev.discard(sector, count);
    } finally {
      await dev.close();
    }
  };

  it('are refused without discard_zeroes_cow (EOPNOTSUPP, as blkdiscard gets on 6.1), and so are discards to the origin', async () => {
    const lab = await discardLab('');
    await expect(discard(lab, 'snap', 0, 8)).rejects.toMatchObject({ code: 'EOPNOTSUPP' });
    await expect(discard(lab, 'origin', 16, 8)).rejects.toMatchObject({ code: 'EOPNOTSUPP' });
    expect(await lab.status('snap')).toBe('32/2048 16'); // no copy-out of chunk 2: still the two exceptions
    await lab.dm.close();
  });

  it('discard_zeroes_cow: a whole remapped chunk is zeroed in the COW, a partial one passed down, others ignored', async () => {
    const lab = await discardLab(' 1 discard_zeroes_cow');
    const before = await lab.status('snap');
    await discard(lab, 'snap', 0, 8);
    await discard(lab, 'snap', 10, 2);
    await discard(lab, 'snap', 100, 8);
    expect((await lab.read('snap', 0, 8)).equals(Buffer.alloc(4096))).toBe(true);
    const chunk1 = stamp('OLD', 8, 8);
    chunk1.fill(0, 2 * 512, 4 * 512);
    expect((await lab.read('snap', 8, 8)).equals(chunk1)).toBe(true);
    // No exception, nothing done, no copy: the snapshot still reads the origin's data there.
    expect((await lab.read('snap', 100, 8)).equals(stamp('OLD', 100, 8))).toBe(true);
    expect(await lab.status('snap')).toBe(before);
    expect(await lab.table('snap')).toBe('data cow P 8 1 discard_zeroes_cow');
    await lab.dm.close();
  });

  it('discard_passdown_origin: the discard also goes straight to the origin device, with no copy-out', async () => {
    const lab = await discardLab(' 2 discard_zeroes_cow discard_passdown_origin');
    const before = await lab.status('snap');
    await discard(lab, 'snap', 200, 8);
    expect((await lab.read('origin', 200, 8)).equals(Buffer.alloc(4096))).toBe(true);
    expect(await lab.status('snap')).toBe(before);
    await lab.dm.close();
  });
});

describe('events for the TUI', () => {
  it('report allocation, copy, commit, invalidation and overflow with the chunk numbers', async () => {
    const lab = new Lab();
    await lab.disk('data', 2048);
    await lab.disk('cow', 24); // header, area 0, one data chunk
    await lab.disk('cowo', 32); // two data chunks
    await lab.dm.create('origin', '0 2048 snapshot-origin data');
    await lab.dm.suspend('origin');
    await lab.dm.create('snap', '0 2048 snapshot data cow P 8');
    await lab.dm.create('snapo', '0 2048 snapshot data cowo PO 8');
    await lab.dm.resume('origin');
    await lab.write('origin', 40, stamp('NEW', 40, 8));
    await lab.write('snapo', 80, stamp('SNP', 80, 8)).catch(() => undefined);
    await lab.write('snapo', 88, stamp('SNP', 88, 8)).catch(() => undefined);
    await lab.write('origin', 48, stamp('NEW', 48, 8));
    const mine = lab.events
      .filter((e) => e.type.startsWith('snapshot.'))
      .map((e) => {
        const { seq: _s, time: _t, ...rest } = e;
        return rest;
      });
    expect(mine.slice(0, 4)).toEqual([
      {
        type: 'snapshot.exception.allocated',
        device: 'snap',
        oldChunk: 5,
        newChunk: 2,
        chunkSize: 8,
        cause: 'origin-write',
      },
      {
        type: 'snapshot.copy.started',
        device: 'snap',
        oldChunk: 5,
        newChunk: 2,
        chunkSize: 8,
        sectors: 8,
        mode: 'copy',
        job: expect.any(Number),
      },
      {
        type: 'snapshot.exception.allocated',
        device: 'snapo',
        oldChunk: 5,
        newChunk: 2,
        chunkSize: 8,
        cause: 'origin-write',
      },
      {
        type: 'snapshot.copy.started',
        device: 'snapo',
        oldChunk: 5,
        newChunk: 2,
        chunkSize: 8,
        sectors: 8,
        mode: 'copy',
        job: expect.any(Number),
      },
    ]);
    const kinds = mine.map((e) => `${e.type}:${'device' in e ? e.device : ''}`);
    expect(kinds).toContain('snapshot.copy.finished:snap');
    expect(kinds).toContain('snapshot.exception.committed:snapo');
    expect(mine).toContainEqual({
      type: 'snapshot.copy.started',
      device: 'snapo',
      oldChunk: 10,
      newChunk: 3,
      chunkSize: 8,
      sectors: 8,
      mode: 'full-write',
    });
    expect(mine).toContainEqual({ type: 'snapshot.overflow', device: 'snapo' });
    expect(mine).toContainEqual({
      type: 'snapshot.invalidated',
      device: 'snap',
      reason: 'Invalidating snapshot: Unable to allocate exception.',
    });
    await lab.dm.close();
  });
});

describe('snapshot_cow_threshold', () => {
  it('origin writes wait while more copies than the threshold are in flight for a snapshot', async () => {
    const scheduler = new AutoScheduler({ paused: true });
    const lab = new Lab({ scheduler });
    const saved = snapshotParameters.cowThreshold;
    snapshotParameters.cowThreshold = 2;
    try {
      await lab.disk('data', 2048, stamp('OLD', 0, 2048));
      await lab.disk('cow', 2048);
      await lab.dm.create('origin', '0 2048 snapshot-origin data');
      await lab.takeSnapshot('origin', 'snap', '0 2048 snapshot data cow N 8');
      const writes = Array.from({ length: 10 }, (_, i) => lab.write('origin', i * 16, stamp('NEW', i * 16, 8)));
      for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
      // 0, 1 and 2 copies in flight let a write through; with 3 (> 2) the others wait.
      expect(lab.events.filter((e) => e.type === 'snapshot.copy.started')).toHaveLength(3);
      scheduler.resume();
      await Promise.all(writes);
      expect(lab.events.filter((e) => e.type === 'snapshot.copy.finished')).toHaveLength(10);
      expect((await lab.readAll('snap')).equals(stamp('OLD', 0, 2048))).toBe(true);
    } finally {
      snapshotParameters.cowThreshold = saved;
      await lab.dm.close();
    }
  });
});
