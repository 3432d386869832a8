// `npm run bench -- snapshot [MiB]`: origin write throughput through snapshot-origin with 0, 1 and 4 persistent
// snapshots, for chunk sizes 8, 64 and 1024 sectors, against a linear device over the same origin file, all in
// one run. Each run writes the whole origin once in 64 KiB writes, 16 in flight; ratios are to linear.

import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlockDevice } from '../src/block/block-device.js';
import { FileDevice } from '../src/block/file-device.js';
import { EventBus } from '../src/dm/events.js';
import type { Target, TargetContext, TargetType } from '../src/dm/target.js';
import { KcopydEngine } from '../src/kcopyd/engine.js';
import { linearTargetType } from '../targets/linear.js';
import { originTargetType } from '../targets/snapshot/origin.js';
import { snapshotTargetType } from '../targets/snapshot/snapshot.js';

const IO_SECTORS = 128;
const QUEUE_DEPTH = 16;

interface Setup {
  target: Target;
  cleanup: () => Promise<void>;
}

function context(devices: Map<string, BlockDevice>, engine: KcopydEngine, bus: EventBus, len: number): TargetContext {
  return {
    deviceName: 'bench',
    begin: 0,
    len,
    readOnly: false,
    getDevice: async (name) => ({ name, bdev: devices.get(name)! }),
    bus,
    kcopyd: engine,
    clock: { now: () => Date.now(), setTimer: () => () => undefined },
    raiseEvent: () => undefined,
  };
}

async function build(dir: string, sectors: number, kind: 'linear' | 'origin', snapshots: number, chunk: number): Promise<Setup> {
  const bus = new EventBus();
  const engine = new KcopydEngine({ bus });
  const devices = new Map<string, BlockDevice>();
  const originPath = join(dir, 'origin.img');
  await writeFile(originPath, '');
  await truncate(originPath, sectors * 512);
  devices.set(originPath, await FileDevice.open(originPath));
  const create = (t: TargetType, args: string[]) => t.create(context(devices, engine, bus, sectors), args);
  const snaps: Target[] = [];
  for (let i = 0; i < snapshots; i++) {
    const cowPath = join(dir, `cow${i}.img`);
    await writeFile(cowPath, '');
    await truncate(cowPath, (sectors + Math.ceil(sectors / chunk / (chunk * 32)) * chunk + 4 * chunk) * 512 + sectors * 512);
    devices.set(cowPath, await FileDevice.open(cowPath));
    const s = await create(snapshotTargetType, [originPath, cowPath, 'P', String(chunk)]);
    await s.resume?.();
    snaps.push(s);
  }
  const target = kind === 'linear' ? await create(linearTargetType, [originPath, '0']) : await create(originTargetType, [originPath]);
  await target.resume?.();
  return {
    target,
    cleanup: async () => {
      await target.destroy();
      for (const s of snaps) await s.destroy();
      for (const d of devices.values()) await d.close();
      await engine.destroy();
    },
  };
}

/** Writes the whole device once; returns MiB/s. Splits at maxIoSectors and submits the pieces together, as the dm core does. */
async function run(target: Target, sectors: number): Promise<number> {
  const data = Buffer.alloc(IO_SECTORS * 512, 0x5a);
  let next = 0;
  const start = process.hrtime.bigint();
  const worker = async () => {
    while (next < sectors) {
      const sector = next;
      next += IO_SECTORS;
      const max = target.maxIoSectors || IO_SECTORS;
      const pieces: Promise<void>[] = [];
      for (let done = 0; done < IO_SECTORS; ) {
        const s = sector + done;
        const n = Math.min(IO_SECTORS - done, max - (s % max));
        pieces.push(target.map({ op: 'write', sector: s, count: n, buf: data.subarray(done * 512, (done + n) * 512) }));
        done += n;
      }
      await Promise.all(pieces);
    }
  };
  await Promise.all(Array.from({ length: QUEUE_DEPTH }, worker));
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return sectors / 2048 / seconds;
}

export async function main(args: string[]): Promise<void> {
  const mib = Number(args[0] ?? 32);
  const sectors = mib * 2048;
  const dir = await mkdtemp(join(tmpdir(), 'dmsim-bench-snapshot-'));
  try {
    const measure = async (kind: 'linear' | 'origin', snapshots: number, chunk: number) => {
      const s = await build(dir, sectors, kind, snapshots, chunk);
      try {
        return await run(s.target, sectors);
      } finally {
        await s.cleanup();
      }
    };
    process.stdout.write(`origin writes: ${mib} MiB in ${IO_SECTORS / 2} KiB writes, ${QUEUE_DEPTH} in flight, files in ${tmpdir()}\n`);
    const linear = await measure('linear', 0, 8);
    process.stdout.write(`${'linear'.padEnd(28)} ${linear.toFixed(1).padStart(8)} MiB/s   1.00\n`);
    const zero = await measure('origin', 0, 8);
    process.stdout.write(`${'snapshot-origin, 0 snaps'.padEnd(28)} ${zero.toFixed(1).padStart(8)} MiB/s   ${(zero / linear).toFixed(2)}\n`);
    for (const chunk of [8, 64, 1024]) {
      for (const n of [1, 4]) {
        const v = await measure('origin', n, chunk);
        const label = `origin, ${n} snap${n > 1 ? 's' : ''}, chunk ${chunk}`;
        process.stdout.write(`${label.padEnd(28)} ${v.toFixed(1).padStart(8)} MiB/s   ${(v / linear).toFixed(2)}\n`);
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
