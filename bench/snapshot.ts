// `npm run bench -- snapshot [MiB]`: origin write throughput through a DeviceMapper over files: snapshot-origin
// with 0, 1 and 4 persistent snapshots, for chunk sizes 8, 64 and 1024 sectors, against a linear device over
// the same origin file, all in one run. Each run writes the whole origin once in 64 KiB writes, 16 in flight,
// onto fresh sparse files; ratios are to linear.

import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus } from '../src/base/events.js';
import { DeviceMapper } from '../targets/device-mapper.js';
import { report } from './_support.js';

const IO_SECTORS = 128;
const QUEUE_DEPTH = 16;

async function sparse(path: string, sectors: number): Promise<void> {
  await writeFile(path, '');
  await truncate(path, sectors * 512);
}

/** Writes the whole device once with QUEUE_DEPTH writers; returns MiB/s. */
async function run(dm: DeviceMapper, name: string, sectors: number): Promise<number> {
  const dev = await dm.open(name);
  const data = Buffer.alloc(IO_SECTORS * 512, 0x5a);
  let next = 0;
  const start = process.hrtime.bigint();
  const worker = async () => {
    while (next < sectors) {
      const sector = next;
      next += IO_SECTORS;
      await dev.write(sector, data);
    }
  };
  await Promise.all(Array.from({ length: QUEUE_DEPTH }, worker));
  await dev.flush();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  await dev.close();
  return sectors / 2048 / seconds;
}

async function measure(
  dir: string,
  sectors: number,
  kind: 'linear' | 'origin',
  snapshots: number,
  chunk: number,
): Promise<number> {
  const dm = new DeviceMapper({ bus: new EventBus() });
  const origin = join(dir, 'origin.img');
  await sparse(origin, sectors);
  try {
    if (kind === 'linear') {
      await dm.create('lin', `0 ${sectors} linear ${origin} 0`);
      return await run(dm, 'lin', sectors);
    }
    await dm.create('origin', `0 ${sectors} snapshot-origin ${origin}`);
    for (let i = 0; i < snapshots; i++) {
      const cow = join(dir, `cow${i}.img`);
      // Room for every chunk (LVM's 100% size) plus a chunk.
      const n = Math.ceil(sectors / chunk);
      await sparse(cow, (2 + n + Math.floor((n + 32 * chunk) / (32 * chunk))) * chunk);
      await dm.suspend('origin');
      await dm.create(`snap${i}`, `0 ${sectors} snapshot ${origin} ${cow} P ${chunk}`);
      await dm.resume('origin');
    }
    return await run(dm, 'origin', sectors);
  } finally {
    await dm.close();
  }
}

export async function main(args: string[]): Promise<void> {
  const mib = Number(args[0] ?? 32);
  const sectors = mib * 2048;
  const dir = await mkdtemp(join(tmpdir(), 'dmsim-bench-snapshot-'));
  const line = (label: string, v: number, base: number) =>
    process.stdout.write(`${label.padEnd(30)} ${v.toFixed(1).padStart(8)} MiB/s   ${(v / base).toFixed(2)}\n`);
  try {
    process.stdout.write(
      `origin writes: ${mib} MiB in ${IO_SECTORS / 2} KiB writes, ${QUEUE_DEPTH} in flight, sparse files in ${tmpdir()}\n`,
    );
    process.stdout.write(`${'device'.padEnd(30)} ${'throughput'.padStart(14)}   vs linear\n`);
    await measure(dir, sectors, 'linear', 0, 8); // warm-up: JIT and the page cache, not reported
    const linear = await measure(dir, sectors, 'linear', 0, 8);
    line('linear', linear, linear);
    line('snapshot-origin, 0 snapshots', await measure(dir, sectors, 'origin', 0, 8), linear);
    for (const chunk of [8, 64, 1024]) {
      for (const n of [1, 4]) {
        const rate = await measure(dir, sectors, 'origin', n, chunk);
        line(`origin, ${n} snapshot${n > 1 ? 's' : ''}, chunk ${chunk}`, rate, linear);
        // The goals (issue 18) are for one snapshot at chunk 64 and 8.
        const goal = n === 1 ? ({ 64: 0.33, 8: 0.15 } as Record<number, number>)[chunk] : undefined;
        if (goal !== undefined) {
          await report({
            what: `snapshot origin first writes, ${n} snapshot, chunk ${chunk}, vs linear (${mib} MiB)`,
            value: rate / linear,
            unit: 'x',
            detail: `${rate.toFixed(1)} MiB/s, linear ${linear.toFixed(1)} MiB/s`,
            goal: { min: goal },
          });
        }
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
