// `npm run bench -- thin [MiB]`: write throughput of a thin device against a linear device over the same data
// file, all in one run: first writes into new blocks with zeroing (the pool zeroes each 512 KiB block through
// kcopyd before the first 64 KiB write lands) and with skip_block_zeroing, overwrites of provisioned blocks,
// and writes that break sharing after create_snap (kcopyd copies each shared block first). Each case writes
// its device once in 64 KiB writes, 16 in flight, onto fresh sparse files; ratios are to linear over as many
// MiB, measured in the same run.

import { mkdtemp, rm, truncate, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus } from '../src/base/events.js';
import { DeviceMapper } from '../targets/device-mapper.js';

const IO_SECTORS = 128;
const QUEUE_DEPTH = 16;
const BLOCK_SECTORS = 1024;
const METADATA_SECTORS = 32768;

async function sparse(path: string, sectors: number): Promise<void> {
  await writeFile(path, '');
  await truncate(path, sectors * 512);
}

/** Writes the whole device once with QUEUE_DEPTH writers, then flushes; returns MiB/s. */
async function writeAll(dm: DeviceMapper, name: string, sectors: number, byte: number): Promise<number> {
  const dev = await dm.open(name);
  const data = Buffer.alloc(IO_SECTORS * 512, byte);
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

type Case = 'linear' | 'zeroing' | 'no-zeroing' | 'overwrite' | 'break-sharing';

async function measure(dir: string, sectors: number, kind: Case): Promise<number> {
  const dm = new DeviceMapper({ bus: new EventBus() });
  const data = join(dir, 'data.img');
  const meta = join(dir, 'meta.img');
  await sparse(data, sectors);
  await sparse(meta, METADATA_SECTORS);
  try {
    if (kind === 'linear') {
      await dm.create('lin', `0 ${sectors} linear ${data} 0`);
      return await writeAll(dm, 'lin', sectors, 0x5a);
    }
    const features = kind === 'no-zeroing' ? '1 skip_block_zeroing' : '0';
    await dm.create('pool', `0 ${sectors} thin-pool ${meta} ${data} ${BLOCK_SECTORS} 0 ${features}`);
    await dm.message('pool', 0, ['create_thin', '0']);
    await dm.create('thin', `0 ${sectors} thin /dev/mapper/pool 0`);
    if (kind === 'zeroing' || kind === 'no-zeroing') return await writeAll(dm, 'thin', sectors, 0x5a);
    // Half the data device holds the blocks a snapshot shares, the other half takes the copies.
    const half = sectors / 2;
    await dm.suspend('thin');
    await dm.load('thin', `0 ${half} thin /dev/mapper/pool 0`);
    await dm.resume('thin');
    await writeAll(dm, 'thin', half, 0x11);
    if (kind === 'break-sharing') {
      await dm.suspend('thin');
      await dm.message('pool', 0, ['create_snap', '1', '0']);
      await dm.resume('thin');
    }
    return await writeAll(dm, 'thin', half, 0x5a);
  } finally {
    await dm.close();
    await rm(data, { force: true });
    await rm(meta, { force: true });
  }
}

export async function main(args: string[]): Promise<void> {
  const mib = Number(args[0] ?? 64);
  const sectors = mib * 2048;
  const dir = await mkdtemp(join(tmpdir(), 'dmsim-bench-thin-'));
  const line = (label: string, v: number, base: number) =>
    process.stdout.write(`${label.padEnd(46)} ${v.toFixed(1).padStart(8)} MiB/s   ${(v / base).toFixed(2)}\n`);
  try {
    process.stdout.write(
      `thin writes: ${IO_SECTORS / 2} KiB writes, ${QUEUE_DEPTH} in flight, ${BLOCK_SECTORS / 2} KiB pool blocks, ` +
        `sparse files in ${tmpdir()}; load average ${loadavg()[0]!.toFixed(1)}\n`,
    );
    process.stdout.write(`${'device'.padEnd(46)} ${'throughput'.padStart(14)}   vs linear\n`);
    await measure(dir, sectors, 'linear'); // warm-up: JIT and the page cache, not reported
    const linear = await measure(dir, sectors, 'linear');
    line(`linear, ${mib} MiB`, linear, linear);
    line(`thin, first writes, zeroing, ${mib} MiB`, await measure(dir, sectors, 'zeroing'), linear);
    line(`thin, first writes, skip_block_zeroing, ${mib} MiB`, await measure(dir, sectors, 'no-zeroing'), linear);
    // The last two write half the device: their baseline is linear over the same half.
    const half = await measure(dir, sectors / 2, 'linear');
    line(`linear, ${mib / 2} MiB`, half, half);
    line(`thin, overwrite of own blocks, ${mib / 2} MiB`, await measure(dir, sectors, 'overwrite'), half);
    line(`thin, writes breaking sharing, ${mib / 2} MiB`, await measure(dir, sectors, 'break-sharing'), half);
    process.stdout.write(`load average after: ${loadavg()[0]!.toFixed(1)}\n`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
