// `npm run bench -- activation [exceptions] [rounds] [--no-build]`: `dmsim create` of a persistent snapshot whose
// COW already holds `exceptions` (default 1,000,000) committed exceptions, timed as a whole process against
// `dmsim create` of a linear device in the same run, with the daemon's peak RSS after the activation (a fresh
// daemon each round, so the peak is the activation's). The COW is written here in the kernel's format
// (dm-snap-persistent.c: header chunk, then areas of 256 records and their 256 data chunks; chunk 8 sectors),
// the origin chunks a seeded shuffle so no run of consecutive chunks makes the table's job easy.

import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, output, report, timedRun } from './_support.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dmsim = join(root, 'dist/src/cli/main.js');
const CHUNK = 8; // sectors
const CHUNK_BYTES = CHUNK * 512;
const PER_AREA = CHUNK_BYTES / 16;

/**
 * A COW holding n exceptions of origin chunks 0..n-1 in a seeded shuffled order; returns the chunks it spans and
 * the chunks a loaded store counts as allocated (up to its last data chunk).
 */
async function writeCow(path: string, n: number): Promise<{ chunks: number; allocated: number }> {
  const old = new Uint32Array(n);
  for (let i = 0; i < n; i++) old[i] = i;
  let seed = 12345;
  for (let i = n - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    const j = seed % (i + 1);
    [old[i], old[j]] = [old[j]!, old[i]!];
  }
  const fh = await fsp.open(path, 'w');
  try {
    const header = Buffer.alloc(CHUNK_BYTES);
    header.writeUInt32LE(0x70416e53, 0); // "SnAp"
    header.writeUInt32LE(1, 4); // valid
    header.writeUInt32LE(1, 8); // version
    header.writeUInt32LE(CHUNK, 12);
    await fh.write(header, 0, CHUNK_BYTES, 0);
    const areas = Math.floor(n / PER_AREA) + 1; // the last one partly filled (or empty): it ends the table
    const area = Buffer.alloc(CHUNK_BYTES);
    for (let k = 0; k < areas; k++) {
      area.fill(0);
      const at = 1 + (PER_AREA + 1) * k;
      for (let i = 0; i < PER_AREA && k * PER_AREA + i < n; i++) {
        area.writeBigUInt64LE(BigInt(old[k * PER_AREA + i]!), i * 16);
        area.writeBigUInt64LE(BigInt(at + 1 + i), i * 16 + 8);
      }
      await fh.write(area, 0, CHUNK_BYTES, at * CHUNK_BYTES);
    }
    const chunks = 1 + (PER_AREA + 1) * areas;
    await fh.truncate(chunks * CHUNK_BYTES);
    const lastNew = 1 + (PER_AREA + 1) * Math.floor((n - 1) / PER_AREA) + 1 + ((n - 1) % PER_AREA);
    return { chunks, allocated: lastNew + 1 };
  } finally {
    await fh.close();
  }
}

/** The daemon's peak resident set (VmHWM), MiB. */
async function peakRssMiB(pid: number): Promise<number> {
  const status = await fsp.readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1]) / 1024;
}

export async function main(argv: string[]): Promise<void> {
  const positional = argv.filter((a) => !a.startsWith('--'));
  const n = Number(positional[0] ?? 1_000_000);
  const rounds = Number(positional[1] ?? 3);
  if (!Number.isInteger(n) || n < 1 || !Number.isInteger(rounds) || rounds < 1)
    throw new Error('usage: npm run bench -- activation [exceptions] [rounds] [--no-build]');
  if (!argv.includes('--no-build')) await output(root, 'npm', ['run', '--silent', 'build']);
  const dir = await fsp.mkdtemp(join(tmpdir(), 'dmsim-bench-activation-'));
  const node = process.execPath;
  try {
    const origin = join(dir, 'origin.img');
    const cow = join(dir, 'cow.img');
    await fsp.writeFile(origin, '');
    await fsp.truncate(origin, n * CHUNK_BYTES);
    const { chunks: cowChunks, allocated } = await writeCow(cow, n);
    process.stdout.write(
      `activation bench: ${n} exceptions, chunk ${CHUNK} sectors, COW ${((cowChunks * CHUNK_BYTES) / 2 ** 30).toFixed(1)} GiB sparse in ${dir}\n`,
    );
    const snapTimes: number[] = [];
    const linearTimes: number[] = [];
    const peaks: number[] = [];
    for (let r = 0; r < rounds; r++) {
      const socket = join(dir, `control-${r}.sock`);
      const pid = Number(await output(root, node, [dmsim, 'daemon', '--socket', socket, '--detach']));
      try {
        const create = (name: string, table: string) =>
          timedRun(node, [dmsim, 'create', name, '--socket', socket, '--table', table]);
        linearTimes.push(await create('lin', `0 ${n * CHUNK} linear ${origin} 0`));
        snapTimes.push(await create('snap', `0 ${n * CHUNK} snapshot ${origin} ${cow} P ${CHUNK}`));
        const status = await output(root, node, [dmsim, 'status', 'snap', '--socket', socket]);
        // The store's usage proves every exception was read: allocated = (data + metadata + header) chunks.
        const used = Number(/ (\d+)\/\d+ \d+/.exec(status)?.[1]);
        if (used !== allocated * CHUNK) throw new Error(`the snapshot did not load every exception: ${status.trim()}`);
        peaks.push(await peakRssMiB(pid));
        await output(root, node, [dmsim, 'remove_all', '--socket', socket]);
      } finally {
        process.kill(pid, 'SIGTERM');
      }
      process.stdout.write(
        `round ${r + 1}: create snapshot ${snapTimes[r]!.toFixed(2)} s, create linear ${linearTimes[r]!.toFixed(2)} s, daemon peak RSS ${peaks[r]!.toFixed(0)} MiB\n`,
      );
    }
    await report({
      what: `activate a persistent snapshot with ${n} exceptions (\`dmsim create\`, whole process)`,
      value: median(snapTimes),
      unit: 's',
      detail: `median of ${rounds}; \`dmsim create\` of a linear device ${median(linearTimes).toFixed(2)} s (${(median(snapTimes) / median(linearTimes)).toFixed(1)}x)`,
      goal: { max: 0.5 },
    });
    await report({
      what: 'daemon peak RSS after that activation',
      value: median(peaks),
      unit: 'MiB',
      detail: `median of ${rounds} fresh daemons`,
      goal: { max: 80 },
    });
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
