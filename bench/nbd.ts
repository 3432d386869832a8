// `npm run bench -- nbd [sizeMiB] [rounds]`: in one run, `qemu-img convert` of a sizeMiB (default 1024) file
// read over NBD from two servers: dmsim exporting a linear device over the file, and nbdkit's file plugin
// over the same file. Both on unix sockets, the target is qemu's null driver (so only the read path counts),
// page cache warm, rounds alternate (default 3) and the best of each is kept. Prints MiB/s and
// dmsim/nbdkit (goal: >= 0.7x). The machine may be noisy.

import { spawn, type ChildProcess } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlClient } from '../src/control/client.js';
import { ControlDaemon } from '../src/control/daemon.js';
import { DeviceMapper } from '../src/dm/device-mapper.js';
import { EventBus } from '../src/dm/events.js';

const MiB = 2 ** 20;

function run(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve((performance.now() - t0) / 1000) : reject(new Error(`${cmd} exited ${code}`))));
  });
}

/** Non-zero, non-repeating data, so no side can take a zero or sparse shortcut. */
async function fillData(path: string, bytes: number): Promise<void> {
  const fh = await fsp.open(path, 'w');
  const chunk = Buffer.alloc(4 * MiB);
  for (let off = 0; off < bytes; off += chunk.length) {
    for (let i = 0; i < chunk.length; i += 8) chunk.writeUInt32LE((off + i) >>> 3, i), chunk.writeUInt32LE(0x5eed1e55, i + 4);
    await fh.write(chunk, 0, chunk.length, off);
  }
  await fh.close();
}

function convert(uri: string, bytes: number): Promise<number> {
  return run('qemu-img', ['convert', '-n', '-f', 'raw', uri, '--target-image-opts', `driver=null-co,size=${bytes}`]);
}

async function startNbdkit(socket: string, file: string): Promise<ChildProcess> {
  const p = spawn('nbdkit', ['--foreground', '--unix', socket, 'file', `file=${file}`], { stdio: ['ignore', 'ignore', 'inherit'] });
  // Wait for the socket file rather than probing it (a probe connection makes nbdkit log an error).
  const exists = (): Promise<boolean> => fsp.stat(socket).then(() => true, () => false);
  for (let i = 0; i < 200 && !(await exists()); i++) await new Promise((r) => setTimeout(r, 25));
  if (!(await exists())) throw new Error('nbdkit did not start');
  return p;
}

export async function main(args: string[]): Promise<void> {
  const sizeMiB = Number(args[0] ?? 1024);
  const rounds = Number(args[1] ?? 3);
  const bytes = sizeMiB * MiB;
  const dir = await fsp.mkdtemp(join(tmpdir(), 'dmsim-bench-nbd-'));
  const file = join(dir, 'data.img');
  const bus = new EventBus();
  const dm = new DeviceMapper({ bus });
  const daemon = new ControlDaemon({ engine: dm, bus, version: 'bench' });
  let nbdkit: ChildProcess | null = null;
  try {
    process.stdout.write(`filling ${sizeMiB} MiB ...\n`);
    await fillData(file, bytes);
    await daemon.listen(join(dir, 'control'));
    const client = await ControlClient.connect(join(dir, 'control'));
    await client.request('create', { name: 'lin', table: `0 ${bytes / 512} linear ${file} 0` });
    const dmsimUri = (await client.request('export', { name: 'lin' })).uri;
    client.close();
    const kitSocket = join(dir, 'nbdkit.sock');
    nbdkit = await startNbdkit(kitSocket, file);
    const kitUri = `nbd+unix:///?socket=${kitSocket}`;

    await convert(kitUri, bytes); // warm the page cache
    let bestDmsim = Infinity;
    let bestKit = Infinity;
    for (let r = 0; r < rounds; r++) {
      const k = await convert(kitUri, bytes);
      const d = await convert(dmsimUri, bytes);
      bestKit = Math.min(bestKit, k);
      bestDmsim = Math.min(bestDmsim, d);
      process.stdout.write(`round ${r + 1}: nbdkit ${(sizeMiB / k).toFixed(0)} MiB/s, dmsim ${(sizeMiB / d).toFixed(0)} MiB/s\n`);
    }
    const ratio = bestKit / bestDmsim;
    process.stdout.write(
      `qemu-img convert of ${sizeMiB} MiB over NBD (best of ${rounds}): nbdkit file ${(sizeMiB / bestKit).toFixed(0)} MiB/s, ` +
        `dmsim linear ${(sizeMiB / bestDmsim).toFixed(0)} MiB/s, dmsim/nbdkit ${ratio.toFixed(2)}x (goal >= 0.7x)\n`,
    );
  } finally {
    nbdkit?.kill('SIGTERM');
    await daemon.close();
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
