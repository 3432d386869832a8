// Fault matrix: error, flakey (error_writes) and delay tables under the snapshot origin, the COW, each mirror
// leg and the mirror's disk log, alone and two at once, and a merge started over a faulty origin or COW.
// Every cell runs the steps of fixtures/reliability/jobs/fault-matrix.sh on dmsim and must print what Linux
// 6.1 printed for it (fixtures/reliability/fault-matrix.out): status letters, Invalid, Merge failed, which
// writes were acknowledged, and what every device reads before and after the fault is healed, which is
// where "no acknowledged data lost where the kernel keeps it" shows.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/base/events.js';
import type { BlockDevice } from '../../src/block/block-device.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { REPO } from '../support/daemon-process.js';
import { deviceState, onBus, untilStatus, waitFor } from '../support/wait.js';

const C = 8;
const N = 1024;
const R = 128;
const LEN = 512;
type Fault = 'error' | 'flakey' | 'delay' | '-';
const FAULTS: Fault[] = ['error', 'flakey', 'delay'];

function faultTable(kind: Fault, dev: string, size: number): string {
  if (kind === 'error') return `0 ${size} error`;
  if (kind === 'flakey') return `0 ${size} flakey ${dev} 0 0 86400 1 error_writes`;
  return `0 ${size} delay ${dev} 0 20`;
}

/** The kernel's output, cell by cell. */
function kernelCells(file = 'fault-matrix.out'): Map<string, string[]> {
  const text = readFileSync(join(REPO, 'fixtures/reliability', file), 'utf8');
  const cells = new Map<string, string[]>();
  let current: string[] | null = null;
  for (const line of text.split('\n')) {
    if (line.startsWith('CELL ')) {
      current = [];
      cells.set(line.slice(5), current);
    } else if (line !== 'END' && line !== '' && current) current.push(line);
  }
  return cells;
}

/** The machine of the job: its five disks (kept across cells, like the images) and a device-mapper. */
class Rig {
  readonly dm = new DeviceMapper({ bus: new EventBus() });
  private readonly disks = new Map<string, MemoryDevice>();

  constructor() {
    const sizes: [string, number][] = [
      ['/dev/vda', N],
      ['/dev/vdb', 2048],
      ['/dev/vdc', N],
      ['/dev/vdd', N],
      ['/dev/vde', 128],
    ];
    for (const [name, sectors] of sizes) {
      // The oracle's virtio disks are write through (qemu cache=writethrough): no empty flush reaches a dm
      // device stacked on them (fixtures/mirror/write-cache.out), so a flakey leg is never failed by one.
      const d = new MemoryDevice(name, sectors, { writeCache: false });
      this.disks.set(name, d);
      this.dm.addBackingDevice(name, d);
    }
  }

  async swap(name: string, table: string): Promise<void> {
    await this.dm.suspend(name);
    await this.dm.load(name, table);
    await this.dm.resume(name);
  }

  async io(dev: string, op: (d: BlockDevice) => Promise<void>): Promise<void> {
    if (!dev.startsWith('/dev/mapper/')) return op(this.disks.get(dev)!);
    const d = await this.dm.open(dev.slice('/dev/mapper/'.length));
    try {
      await op(d);
    } finally {
      await d.close();
    }
  }

  /**
   * wr: 8 sectors of 16-byte lines "TAG" in one 4 KiB write, then a flush: ok or failed. The job's dd makes eight
   * 512-byte writes; for a failed primary leg the kernel reported that dd as a success although single 512-byte
   * writes after the first fail there (primary-leg-512 below, which dmsim matches), so one write stands for it.
   * busybox dd bs=512 oflag=direct is a buffered write (its buffer is not aligned, O_DIRECT gives EINVAL and dd
   * drops it), so the kernel first read the 4 KiB page into the page cache; when that read failed, nothing was
   * written (fixtures/snapshot/jobs/origin-read-error.sh, case buffered-512). The snapshot and mirror cells read
   * first (for the mirror: fixtures/mirror/write-cache.out, both legs failing the page read leave it 4/4 R R).
   */
  async wr(dev: string, chunk: number, tag: string, pageRead = false): Promise<string> {
    const data = Buffer.from(`${tag.padEnd(15)}\n`.repeat(256), 'latin1');
    try {
      await this.io(dev, async (d) => {
        if (pageRead) await d.read(chunk * C, Buffer.alloc(data.length));
        await d.write(chunk * C, data);
        await d.flush();
      });
      return 'ok';
    } catch {
      return 'failed';
    }
  }

  /** rd: the first line of the chunk, trimmed, or EIO. */
  async rd(dev: string, chunk: number): Promise<string> {
    const buf = Buffer.alloc(512);
    try {
      await this.io(dev, (d) => d.read(chunk * C, buf));
    } catch {
      return 'EIO';
    }
    return buf.toString('latin1').split('\n')[0]!.replaceAll(' ', '');
  }

  async zero(dev: string, sectors: number): Promise<void> {
    await this.disks.get(dev)!.write(0, Buffer.alloc(sectors * 512));
  }

  /** `dmsetup status NAME | cut -d' ' -f3-`, mapped devices numbered as the job's kernel numbered them. */
  async st(name: string): Promise<string> {
    const [l] = await this.dm.status(name);
    const text = `${l!.target} ${l!.params}`.replace(/ +$/, '');
    return text
      .replaceAll('/dev/mapper/leg0', '253:0')
      .replaceAll('/dev/mapper/leg1', '253:1')
      .replaceAll('/dev/mapper/mlog', '253:2');
  }

  /**
   * Waits for background work (a leg failure, a merge) to reach the kernel's state (the job slept for it),
   * looking again after each event on the bus; fails with the device's state if it never does.
   */
  async settle(name: string, want: string | undefined): Promise<string> {
    if (want === undefined) return this.st(name);
    return waitFor(
      `${name} to reach the kernel's status "${want}"`,
      async () => {
        const got = await this.st(name);
        return got === want ? got : undefined;
      },
      onBus(this.dm.bus),
      () => deviceState(this.dm, name),
    );
  }
}

/** Expected line `prefix ...` of a kernel cell (for the states dmsim reaches in the background). */
const expectedLine = (cell: string[], prefix: string): string | undefined =>
  cell.find((l) => l.startsWith(prefix))?.slice(prefix.length);

/** The cells' common start: four stamped origin chunks, a fresh COW, the LVM stack, one origin write (its result). */
async function snapshotStack(rig: Rig): Promise<string> {
  for (let k = 0; k < 4; k++) await rig.wr('/dev/vda', k, `init-c${k}`);
  await rig.zero('/dev/vdb', 1);
  await rig.dm.create('real', `0 ${N} linear /dev/vda 0`);
  await rig.dm.create('cowdev', '0 2048 linear /dev/vdb 0');
  await rig.dm.create('origin', `0 ${N} snapshot-origin /dev/mapper/real`);
  await rig.dm.suspend('origin');
  await rig.dm.create('snap', `0 ${N} snapshot /dev/mapper/real /dev/mapper/cowdev P ${C}`);
  await rig.dm.resume('origin');
  return rig.wr('/dev/mapper/origin', 1, 'pre');
}

async function snapshotCell(rig: Rig, o: Fault, c: Fault): Promise<string[]> {
  const out: string[] = [];
  const { dm } = rig;
  out.push(`PRE ${await snapshotStack(rig)}`);
  if (o !== '-') await rig.swap('real', faultTable(o, '/dev/vda', N));
  if (c !== '-') await rig.swap('cowdev', faultTable(c, '/dev/vdb', 2048));
  out.push(`WRITE origin ${await rig.wr('/dev/mapper/origin', 2, 'post', true)}`);
  out.push(`WRITE snap ${await rig.wr('/dev/mapper/snap', 3, 'snapw', true)}`);
  out.push(`STATUS ${await rig.st('snap')}`);
  out.push(
    `READ origin ${await rig.rd('/dev/mapper/origin', 1)} ${await rig.rd('/dev/mapper/origin', 2)} ${await rig.rd('/dev/mapper/origin', 3)}`,
  );
  out.push(
    `READ snap ${await rig.rd('/dev/mapper/snap', 1)} ${await rig.rd('/dev/mapper/snap', 2)} ${await rig.rd('/dev/mapper/snap', 3)}`,
  );
  await rig.swap('real', `0 ${N} linear /dev/vda 0`);
  await rig.swap('cowdev', '0 2048 linear /dev/vdb 0');
  const snapReads = `${await rig.rd('/dev/mapper/snap', 1)} ${await rig.rd('/dev/mapper/snap', 2)} ${await rig.rd('/dev/mapper/snap', 3)}`;
  out.push(`HEALED ${await rig.st('snap')} | origin ${await rig.rd('/dev/mapper/origin', 2)} | snap ${snapReads}`);
  for (const n of ['snap', 'origin', 'cowdev', 'real']) await dm.remove(n);
  return out;
}

async function mergeCell(rig: Rig, o: Fault, c: Fault, kernel: string[]): Promise<string[]> {
  const out: string[] = [];
  const { dm } = rig;
  out.push(`PRE ${await snapshotStack(rig)}`);
  await dm.remove('snap');
  await dm.remove('origin');
  if (o !== '-') await rig.swap('real', faultTable(o, '/dev/vda', N));
  if (c !== '-') await rig.swap('cowdev', faultTable(c, '/dev/vdb', 2048));
  let created = true;
  try {
    await dm.create('origin', `0 ${N} snapshot-merge /dev/mapper/real /dev/mapper/cowdev P ${C}`);
  } catch {
    created = false;
  }
  out.push(`CREATE ${created ? 'ok' : 'failed'}`);
  if (created) {
    out.push(`STATUS ${await rig.settle('origin', expectedLine(kernel, 'STATUS '))}`);
    out.push(`READ origin ${await rig.rd('/dev/mapper/origin', 1)}`);
    await dm.remove('origin');
  }
  await rig.swap('real', `0 ${N} linear /dev/vda 0`);
  await rig.swap('cowdev', '0 2048 linear /dev/vdb 0');
  out.push(`HEALED real ${await rig.rd('/dev/mapper/real', 1)}`);
  await dm.remove('cowdev');
  await dm.remove('real');
  return out;
}

/**
 * The steps of fixtures/reliability/jobs/merge-retry.sh: a merge that fails, the fault healed, a suspend/resume
 * (the merge runs again), a new table. DMESG lines are the reasons dmsim gives for stopping the merge.
 */
async function mergeRetryCell(rig: Rig, o: Fault, c: Fault, kernel: string[]): Promise<string[]> {
  const out: string[] = [];
  const { dm } = rig;
  const reasons: string[] = [];
  const off = dm.bus.on((e) => {
    if (e.type === 'snapshot.merge.state' && e.state === 'failed') reasons.push(e.reason);
  });
  const dmesg = () => reasons.splice(0).map((r) => `DMESG device-mapper: snapshots: ${r}`);
  const ev = async () => (await dm.info('origin'))[0]!.eventNr;
  const reals = async (dev: string) => `${await rig.rd(dev, 1)} ${await rig.rd(dev, 2)} ${await rig.rd(dev, 3)}`;
  for (let k = 0; k < 4; k++) await rig.wr('/dev/vda', k, `init-c${k}`);
  await rig.zero('/dev/vdb', 1);
  await dm.create('real', `0 ${N} linear /dev/vda 0`);
  await dm.create('cowdev', '0 2048 linear /dev/vdb 0');
  await dm.create('origin', `0 ${N} snapshot-origin /dev/mapper/real`);
  await dm.suspend('origin');
  await dm.create('snap', `0 ${N} snapshot /dev/mapper/real /dev/mapper/cowdev P ${C}`);
  await dm.resume('origin');
  const pre = [];
  for (let k = 1; k < 4; k++) pre.push(await rig.wr('/dev/mapper/origin', k, `pre${k}`));
  out.push(`PRE ${pre.join(' ')}`);
  out.push(`SNAP ${await rig.st('snap')}`);
  await dm.remove('snap');
  await dm.remove('origin');
  if (o !== '-') await rig.swap('real', faultTable(o, '/dev/vda', N));
  if (c !== '-') await rig.swap('cowdev', faultTable(c, '/dev/vdb', 2048));
  await dm.create('origin', `0 ${N} snapshot-merge /dev/mapper/real /dev/mapper/cowdev P ${C}`);
  out.push(`FAILED ${await rig.settle('origin', 'snapshot-merge Merge failed')} | event ${await ev()}`);
  out.push(...dmesg());
  await rig.swap('real', `0 ${N} linear /dev/vda 0`);
  await rig.swap('cowdev', '0 2048 linear /dev/vdb 0');
  out.push(`HEALED ${await rig.st('origin')} | event ${await ev()} | real ${await reals('/dev/mapper/real')}`);
  // The job slept until the restarted merge was over; here the merge's own end (its last state event) is awaited.
  let ended = false;
  const offEnd = dm.bus.on((e) => {
    if (e.type === 'snapshot.merge.state' && e.state !== 'running') ended = true;
  });
  await dm.suspend('origin');
  ended = false;
  await dm.resume('origin');
  await waitFor(
    'the merge started again by resume to end',
    () => (ended ? true : undefined),
    onBus(dm.bus),
    () => deviceState(dm, 'origin'),
  );
  offEnd();
  out.push(
    `RESUMED ${await rig.st('origin')} | event ${await ev()} | real ${await reals('/dev/mapper/real')} | origin ${await reals('/dev/mapper/origin')}`,
  );
  out.push(...dmesg());
  const chunk0 = Buffer.alloc(512);
  await rig.io('/dev/mapper/real', (d) => d.read(0, chunk0));
  out.push(`CHUNK0${[...chunk0.subarray(0, 8)].map((b) => ` ${b.toString(16).padStart(2, '0')}`).join('')}`);
  await dm.remove('origin');
  await dm.create('origin', `0 ${N} snapshot-merge /dev/mapper/real /dev/mapper/cowdev P ${C}`);
  const recreated = expectedLine(kernel, 'RECREATED ')?.split(' | ')[0];
  out.push(
    `RECREATED ${await rig.settle('origin', recreated)} | event ${await ev()} | real ${await reals('/dev/mapper/real')}`,
  );
  off();
  for (const n of ['origin', 'cowdev', 'real']) await dm.remove(n);
  return out;
}

async function mirrorCell(rig: Rig, l0: Fault, l1: Fault, lg: Fault, kernel: string[]): Promise<string[]> {
  const out: string[] = [];
  const { dm } = rig;
  await rig.zero('/dev/vde', 3);
  for (let k = 0; k < 4; k++) {
    await rig.wr('/dev/vdc', (k * R) / C, `init-r${k}`);
    await rig.wr('/dev/vdd', (k * R) / C, `init-r${k}`);
  }
  await dm.create('leg0', `0 ${N} linear /dev/vdc 0`);
  await dm.create('leg1', `0 ${N} linear /dev/vdd 0`);
  await dm.create('mlog', '0 128 linear /dev/vde 0');
  await dm.create('mir', `0 ${LEN} mirror disk 2 /dev/mapper/mlog ${R} 2 /dev/mapper/leg0 0 /dev/mapper/leg1 0`);
  await untilStatus(dm, 'mir', 'resynced', (st) => st.includes(' 4/4 '));
  if (l0 !== '-') await rig.swap('leg0', faultTable(l0, '/dev/vdc', N));
  if (l1 !== '-') await rig.swap('leg1', faultTable(l1, '/dev/vdd', N));
  if (lg !== '-') await rig.swap('mlog', faultTable(lg, '/dev/vde', 128));
  out.push(`WRITE ${await rig.wr('/dev/mapper/mir', R / C, 'post-r1', true)}`);
  out.push(`STATUS ${await rig.settle('mir', expectedLine(kernel, 'STATUS '))}`);
  out.push(`READ ${await rig.rd('/dev/mapper/mir', R / C)} ${await rig.rd('/dev/mapper/mir', (2 * R) / C)}`);
  await rig.swap('leg0', `0 ${N} linear /dev/vdc 0`);
  await rig.swap('leg1', `0 ${N} linear /dev/vdd 0`);
  await rig.swap('mlog', '0 128 linear /dev/vde 0');
  out.push(`LEGS ${await rig.rd('/dev/mapper/leg0', R / C)} ${await rig.rd('/dev/mapper/leg1', R / C)}`);
  for (const n of ['mir', 'mlog', 'leg1', 'leg0']) await dm.remove(n);
  return out;
}

const kernel = kernelCells();

/**
 * Cells where dmsim does not (yet) do what the kernel did. They run as expected failures, so each one turns
 * into a test failure the day dmsim matches the kernel and the entry must go.
 */
const KNOWN_DIVERGENCES = new Set<string>([]);
/** One cell: a test that must print the kernel's lines (an expected failure if it is a known divergence). */
function cell(name: string, run: (want: string[]) => Promise<string[]>): void {
  const want = kernel.get(name);
  (KNOWN_DIVERGENCES.has(name) ? it.fails : it)(name, async () => {
    expect(want, `no kernel recording for ${name}`).toBeDefined();
    expect(await run(want!)).toEqual(want);
  });
}
const pairs = <T>(xs: T[]): [T, T][] => xs.flatMap((a) => xs.map((b): [T, T] => [a, b]));

describe('fault matrix against Linux 6.1 (fixtures/reliability/fault-matrix.out)', () => {
  const snapshotCells: [Fault, Fault][] = [
    ...FAULTS.flatMap((f): [Fault, Fault][] => [
      [f, '-'],
      ['-', f],
    ]),
    ...pairs(FAULTS),
  ];
  for (const [o, c] of snapshotCells) {
    cell(`snapshot origin=${o} cow=${c}`, async () => {
      const rig = new Rig();
      for (let k = 0; k < 8; k++) await rig.wr('/dev/vda', k, `init-c${k}`);
      return snapshotCell(rig, o, c);
    });
  }

  const mergeCells: [Fault, Fault][] = FAULTS.flatMap((f): [Fault, Fault][] => [
    [f, '-'],
    ['-', f],
  ]);
  for (const [o, c] of mergeCells) cell(`merge origin=${o} cow=${c}`, (want) => mergeCell(new Rig(), o, c, want));

  const mirrorCells: [Fault, Fault, Fault][] = [
    ...FAULTS.flatMap((f): [Fault, Fault, Fault][] => [
      [f, '-', '-'],
      ['-', f, '-'],
      ['-', '-', f],
    ]),
    ...pairs(FAULTS).flatMap(([f, g]): [Fault, Fault, Fault][] => [
      [f, g, '-'],
      [f, '-', g],
      ['-', f, g],
    ]),
  ];
  for (const [l0, l1, lg] of mirrorCells)
    cell(`mirror leg0=${l0} leg1=${l1} log=${lg}`, (want) => mirrorCell(new Rig(), l0, l1, lg, want));

  it('origin device failing, one 4 KiB write, no earlier exception: Invalid, as fixtures/reliability/origin-error-4k.out', async () => {
    const kernelOut = readFileSync(join(REPO, 'fixtures/reliability/origin-error-4k.out'), 'utf8');
    expect(kernelOut).toContain('rc=1\n0 1024 snapshot Invalid');
    const rig = new Rig();
    const { dm } = rig;
    await dm.create('real', `0 ${N} linear /dev/vda 0`);
    await dm.create('cowdev', '0 2048 linear /dev/vdb 0');
    await dm.create('origin', `0 ${N} snapshot-origin /dev/mapper/real`);
    await dm.suspend('origin');
    await dm.create('snap', `0 ${N} snapshot /dev/mapper/real /dev/mapper/cowdev P ${C}`);
    await dm.resume('origin');
    await rig.swap('real', `0 ${N} error`);
    const od = await dm.open('origin');
    await expect(od.write(16, Buffer.alloc(4096))).rejects.toMatchObject({ code: 'EIO' });
    await od.close();
    expect(await rig.st('snap')).toBe('snapshot Invalid');
  });

  it('primary leg failed: single 512-byte writes after the first fail, as fixtures/reliability/primary-leg-512.out', async () => {
    const want = readFileSync(join(REPO, 'fixtures/reliability/primary-leg-512.out'), 'utf8')
      .split('\n')
      .filter((l) => /^(0 512 mirror|w\d rc=)/.test(l));
    const rig = new Rig();
    const { dm } = rig;
    await rig.zero('/dev/vde', 3);
    await dm.create('leg0', `0 ${N} linear /dev/vdc 0`);
    await dm.create('leg1', `0 ${N} linear /dev/vdd 0`);
    await dm.create('mlog', '0 128 linear /dev/vde 0');
    await dm.create('mir', `0 ${LEN} mirror disk 2 /dev/mapper/mlog ${R} 2 /dev/mapper/leg0 0 /dev/mapper/leg1 0`);
    const got: string[] = [`0 ${LEN} ${await rig.settle('mir', want[0]!.slice(`0 ${LEN} `.length))}`];
    await rig.swap('leg0', `0 ${N} error`);
    const write = async (sector: number, count: number, flush: boolean): Promise<number> => {
      const d = await dm.open('mir');
      try {
        for (let i = 0; i < count; i++) await d.write(sector + i, Buffer.alloc(512, 0x78));
        if (flush) await d.flush();
        return 0;
      } catch {
        return 1;
      } finally {
        await d.close();
      }
    };
    for (let i = 0; i < 4; i++) {
      got.push(`w${i} rc=${await write(128 + i, 1, false)}`);
      got.push(`0 ${LEN} ${await rig.settle('mir', want[got.length]?.slice(`0 ${LEN} `.length))}`);
    }
    got.push(`w8 rc=${await write(136, 8, true)}`);
    expect(got).toEqual(want);
  });

  describe('a failed merge, healed, then suspend/resume (fixtures/reliability/merge-retry.out)', () => {
    const retry = kernelCells('merge-retry.out');
    const cells: [string, Fault, Fault][] = [
      ['origin=error', 'error', '-'],
      ['cow=flakey', '-', 'flakey'],
    ];
    it('covers the cells the kernel ran', () => expect(cells.map(([n]) => n)).toEqual([...retry.keys()]));
    for (const [name, o, c] of cells) {
      it(`${name}: no dm event, Merge failed until a new table, the merge runs again on resume`, async () => {
        const want = retry.get(name)!;
        expect(await mergeRetryCell(new Rig(), o, c, want)).toEqual(want);
      });
    }
  });

  it('covers every cell the kernel ran, and only those', () => {
    expect(snapshotCells.length + mergeCells.length + mirrorCells.length).toBe(kernel.size);
  });
});
