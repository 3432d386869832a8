// `npm run bench -- kcopyd [sizeMiB] [rounds] [--dir DIR] [--overwrite]`: copies sizeMiB (default 1024) between two sparse
// files with dmsim's kcopyd engine and with `dd bs=1M conv=notrunc`, alternating who goes first, in the same
// run, source page cache warm. Prints both throughputs (median and best of the rounds), the ratio, and the
// peak RSS of the process that ran kcopyd (a child process, so the benchmark's own buffers do not count).
// The files go to DIR (default: the system temp dir); on a disk filesystem the kernel's writeback and block
// freeing make single runs noisy, a tmpfs such as /dev/shm measures the copy engines alone.
// In a VM with free page reporting (virtio-balloon), memory the guest freed seconds ago is back with the
// host, and a copy whose new page cache lands on such pages runs at a fraction of memcpy speed: single rounds
// of either tool swing between 0.4 and 4 GB/s. --overwrite copies onto destinations that are written and
// cached beforehand (zeros, so the final check still means something): no allocation at all, the engines alone.

import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EventBus } from '../src/base/events.js';
import { FileDevice } from '../src/block/file-device.js';
import { KcopydEngine } from '../src/kcopyd/engine.js';
import { report } from './_support.js';

const MiB = 2 ** 20;

interface ChildReport {
  seconds: number;
  maxRssKiB: number;
  readErr: boolean;
  writeErr: number;
}

/** In the child: one kcopyd job over the two files; reports its own time and peak RSS as JSON. */
async function child(src: string, dst: string, sectors: number): Promise<void> {
  const engine = new KcopydEngine({ bus: new EventBus() });
  const from = await FileDevice.open(src, { readOnly: true });
  const to = await FileDevice.open(dst);
  const client = engine.createClient({ owner: 'bench' });
  const t0 = performance.now();
  const r = await client.copyAsync({ bdev: from, sector: 0, count: sectors }, [
    { bdev: to, sector: 0, count: sectors },
  ]);
  const seconds = (performance.now() - t0) / 1000;
  await client.destroy();
  await from.close();
  await to.close();
  const report: ChildReport = {
    seconds,
    maxRssKiB: process.resourceUsage().maxRSS,
    readErr: r.readErr,
    writeErr: r.writeErr,
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string; seconds: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr, seconds: (performance.now() - t0) / 1000 }));
  });
}

/** A new sparse destination file (a new inode: truncating an allocated file stalls the next writer on ext4 with discard). */
async function newSparse(path: string, bytes: number): Promise<void> {
  await fsp.writeFile(path, '');
  await fsp.truncate(path, bytes);
}

/** A written, cached file of zeros (for --overwrite). */
async function zeroFile(path: string, mib: number): Promise<void> {
  const dd = await run('dd', ['if=/dev/zero', `of=${path}`, 'bs=1M', `count=${mib}`]);
  if (dd.code !== 0) throw new Error(`dd failed: ${dd.stderr}`);
  await writeBack(path);
}

/** Writes a finished copy back (outside the timing) so dirty pages do not pile up across rounds. */
async function writeBack(path: string): Promise<void> {
  const fh = await fsp.open(path, 'r+');
  try {
    await fh.datasync();
  } finally {
    await fh.close();
  }
}

async function makeSource(path: string, mib: number): Promise<void> {
  const fh = await fsp.open(path, 'w');
  try {
    const chunk = Buffer.alloc(MiB);
    for (let i = 0; i < chunk.length; i += 4) chunk.writeUInt32LE((Math.imul(i, 2654435761) ^ 0x5bd1e995) >>> 0, i);
    for (let m = 0; m < mib; m++) {
      chunk.writeUInt32LE(m, 0); // every MiB differs
      await fh.write(chunk, 0, MiB, m * MiB);
    }
    await fh.sync(); // no writeback of the source competing with the measured copies
  } finally {
    await fh.close();
  }
  // Read it once so both copies start from a warm page cache.
  const back = await fsp.open(path, 'r');
  const buf = Buffer.alloc(4 * MiB);
  try {
    for (let off = 0; off < mib * MiB; off += buf.length) await back.read(buf, 0, buf.length, off);
  } finally {
    await back.close();
  }
}

/** dd's own figure ("..., 0.52 s, 2.1 GB/s"), falling back to wall time. */
function ddSeconds(stderr: string, wall: number): number {
  const m = /copied, ([\d.]+) s/.exec(stderr);
  return m ? Number(m[1]) : wall;
}

/** `npm run bench -- all`: files on disk, then the engines alone on a tmpfs (the two kcopyd lines). */
export const allRuns = [[], ['--overwrite', '--dir', '/dev/shm']];

export async function main(argv: string[]): Promise<void> {
  if (argv[0] === '--child') {
    await child(argv[1]!, argv[2]!, Number(argv[3]));
    return;
  }
  const overwrite = argv.includes('--overwrite');
  const args = argv.filter((a) => a !== '--overwrite');
  const dirAt = args.indexOf('--dir');
  const base = dirAt >= 0 ? args[dirAt + 1] : tmpdir();
  const positional = dirAt >= 0 ? args.filter((_, i) => i !== dirAt && i !== dirAt + 1) : args;
  const mib = Number(positional[0] ?? 1024);
  const rounds = Number(positional[1] ?? 5);
  if (!Number.isInteger(mib) || mib < 1 || !Number.isInteger(rounds) || rounds < 1) {
    throw new Error('usage: npm run bench -- kcopyd [sizeMiB] [rounds] [--dir DIR] [--overwrite]');
  }
  if (!base) throw new Error('--dir needs a directory');
  const dir = await fsp.mkdtemp(join(base, 'dmsim-bench-'));
  const src = join(dir, 'src.img');
  const runner = fileURLToPath(new URL('./run.ts', import.meta.url));
  try {
    process.stdout.write(
      `kcopyd bench: ${mib} MiB, ${rounds} rounds, ${overwrite ? 'onto cached destinations' : 'sparse destinations'}, files in ${dir}\n`,
    );
    await makeSource(src, mib);
    const ddTimes: number[] = [];
    const kTimes: number[] = [];
    let peakRss = 0;
    const cachedDd = join(dir, 'dst-dd.img');
    const cachedK = join(dir, 'dst-kcopyd.img');
    if (overwrite) {
      await zeroFile(cachedDd, mib);
      await zeroFile(cachedK, mib);
    }
    for (let r = 0; r < rounds; r++) {
      const dstDd = overwrite ? cachedDd : join(dir, `dst-dd-${r}.img`);
      const dstK = overwrite ? cachedK : join(dir, `dst-kcopyd-${r}.img`);
      if (!overwrite) {
        await newSparse(dstDd, mib * MiB);
        await newSparse(dstK, mib * MiB);
      }
      const runDd = async (): Promise<number> => {
        const dd = await run('dd', [`if=${src}`, `of=${dstDd}`, 'bs=1M', `count=${mib}`, 'conv=notrunc']);
        if (dd.code !== 0) throw new Error(`dd failed: ${dd.stderr}`);
        await writeBack(dstDd);
        return ddSeconds(dd.stderr, dd.seconds);
      };
      const runK = async (): Promise<ChildReport> => {
        const k = await run(process.execPath, [
          '--import',
          'tsx',
          runner,
          'kcopyd',
          '--child',
          src,
          dstK,
          String(mib * 2048),
        ]);
        if (k.code !== 0) throw new Error(`kcopyd child failed: ${k.stderr}`);
        const rep = JSON.parse(k.stdout.trim().split('\n').at(-1)!) as ChildReport;
        if (rep.readErr || rep.writeErr !== 0)
          throw new Error(`kcopyd reported read_err=${rep.readErr} write_err=${rep.writeErr}`);
        await writeBack(dstK);
        return rep;
      };
      // Alternate who goes first: the order matters on a busy page cache.
      let ddS: number;
      let rep: ChildReport;
      if (r % 2 === 0) {
        ddS = await runDd();
        rep = await runK();
      } else {
        rep = await runK();
        ddS = await runDd();
      }
      ddTimes.push(ddS);
      kTimes.push(rep.seconds);
      peakRss = Math.max(peakRss, rep.maxRssKiB);
      process.stdout.write(
        `round ${r + 1}: dd ${(mib / ddS).toFixed(0)} MiB/s, kcopyd ${(mib / rep.seconds).toFixed(0)} MiB/s, kcopyd peak RSS ${(rep.maxRssKiB / 1024).toFixed(1)} MiB\n`,
      );
      if (r === 0) {
        // The first round: with --overwrite, later rounds find the data there already.
        const cmp = await run('cmp', [src, dstK]);
        if (cmp.code !== 0) throw new Error(`kcopyd's copy differs from the source: ${cmp.stdout}${cmp.stderr}`);
      }
      if (!overwrite) {
        await fsp.rm(dstDd);
        await fsp.rm(dstK);
      }
    }
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const rate = (seconds: number): string => `${(mib / seconds).toFixed(0)} MiB/s`;
    process.stdout.write(
      `dd      bs=1M conv=notrunc: median ${rate(median(ddTimes))}, best ${rate(Math.min(...ddTimes))}\n`,
    );
    process.stdout.write(
      `kcopyd  (1024-sector sub-jobs, 8 in flight): median ${rate(median(kTimes))}, best ${rate(Math.min(...kTimes))}\n`,
    );
    process.stdout.write(
      `ratio kcopyd/dd: median ${(median(ddTimes) / median(kTimes)).toFixed(2)}x, best ${(Math.min(...ddTimes) / Math.min(...kTimes)).toFixed(2)}x (goal >= 0.90x)\n`,
    );
    process.stdout.write(`kcopyd peak RSS: ${(peakRss / 1024).toFixed(1)} MiB (goal < 200 MiB)\n`);
    await report({
      what: `kcopyd ${mib} MiB copy in process, ${overwrite ? 'onto cached destinations (engines only)' : 'sparse destinations'}, vs dd (median of ${rounds})`,
      value: median(ddTimes) / median(kTimes),
      unit: 'x',
      detail: `${rate(median(kTimes))}, dd ${rate(median(ddTimes))}; files in ${base}; peak RSS ${(peakRss / 1024).toFixed(0)} MiB`,
      goal: { min: 0.95 },
    });
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
