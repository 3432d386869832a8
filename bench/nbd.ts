// `npm run bench -- nbd [sizeMiB] [rounds]`: in one run, `qemu-img convert` of a sizeMiB (default 1024) file
// read over NBD from two servers: dmsim exporting a linear device over the file, and nbdkit's file plugin
// over the same file; both over a unix socket, then both over loopback TCP. The target is qemu's null
// driver (so only the read path counts), page cache warm, rounds alternate (default 3) and the best of each
// is kept. Prints MiB/s and dmsim/nbdkit per transport (goal: >= 0.7x). The machine may be noisy.
// Then the same with CLIENTS converts at once on each side (one connection each), timed from the first start
// to the last finish: nbdkit serves connections on its threads, dmsim on one event loop.

import { type ChildProcess, spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus } from '../src/base/events.js';
import { ControlClient } from '../src/control/client.js';
import { ControlDaemon } from '../src/control/daemon.js';
import { DeviceMapper } from '../targets/device-mapper.js';
import { fillData, MiB, report, timedRun } from './_support.js';

/** Concurrent converts in the many-clients round. */
const CLIENTS = 4;

function convert(uri: string, bytes: number): Promise<number> {
  return timedRun('qemu-img', [
    'convert',
    '-n',
    '-f',
    'raw',
    uri,
    '--target-image-opts',
    `driver=null-co,size=${bytes}`,
  ]);
}

/** Starts nbdkit's file plugin on a unix socket and on 127.0.0.1:port; resolves once it wrote its pid file. */
async function startNbdkit(dir: string, file: string, port: number): Promise<ChildProcess> {
  const pidFile = join(dir, 'nbdkit.pid');
  const p = spawn(
    'nbdkit',
    ['--foreground', '--pidfile', pidFile, '--unix', join(dir, 'nbdkit.sock'), 'file', `file=${file}`],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  const q = spawn(
    'nbdkit',
    [
      '--foreground',
      '--pidfile',
      `${pidFile}.tcp`,
      '--ipaddr',
      '127.0.0.1',
      '--port',
      String(port),
      'file',
      `file=${file}`,
    ],
    {
      stdio: ['ignore', 'ignore', 'inherit'],
    },
  );
  p.once('exit', () => q.kill('SIGTERM'));
  // Wait for the pid files rather than probing the sockets (a probe connection makes nbdkit log an error).
  const exists = (f: string): Promise<boolean> =>
    fsp.stat(f).then(
      () => true,
      () => false,
    );
  for (let i = 0; i < 400 && !((await exists(pidFile)) && (await exists(`${pidFile}.tcp`))); i++)
    await new Promise((r) => setTimeout(r, 25));
  if (!(await exists(pidFile)) || !(await exists(`${pidFile}.tcp`))) throw new Error('nbdkit did not start');
  return p;
}

/** A free loopback port: listen on port 0, note it, close. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => (a !== null && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

async function compare(
  label: string,
  dmsimUri: string,
  kitUri: string,
  sizeMiB: number,
  rounds: number,
): Promise<void> {
  const bytes = sizeMiB * MiB;
  await convert(kitUri, bytes); // warm up both paths
  await convert(dmsimUri, bytes);
  let bestDmsim = Infinity;
  let bestKit = Infinity;
  for (let r = 0; r < rounds; r++) {
    const k = await convert(kitUri, bytes);
    const d = await convert(dmsimUri, bytes);
    bestKit = Math.min(bestKit, k);
    bestDmsim = Math.min(bestDmsim, d);
    process.stdout.write(
      `${label} round ${r + 1}: nbdkit ${(sizeMiB / k).toFixed(0)} MiB/s, dmsim ${(sizeMiB / d).toFixed(0)} MiB/s\n`,
    );
  }
  process.stdout.write(
    `${label}: qemu-img convert of ${sizeMiB} MiB (best of ${rounds}): nbdkit file ${(sizeMiB / bestKit).toFixed(0)} MiB/s, ` +
      `dmsim linear ${(sizeMiB / bestDmsim).toFixed(0)} MiB/s, dmsim/nbdkit ${(bestKit / bestDmsim).toFixed(2)}x (goal >= 0.7x)\n`,
  );
  await report({
    what: `NBD \`qemu-img convert\` of ${sizeMiB} MiB, ${label}, vs nbdkit (best of ${rounds})`,
    value: bestKit / bestDmsim,
    unit: 'x',
    detail: `${(sizeMiB / bestDmsim).toFixed(0)} MiB/s, nbdkit ${(sizeMiB / bestKit).toFixed(0)} MiB/s`,
    goal: { min: 1.0 },
  });
  const many = async (uri: string): Promise<number> => {
    const t0 = performance.now();
    await Promise.all(Array.from({ length: CLIENTS }, () => convert(uri, bytes)));
    return (performance.now() - t0) / 1000;
  };
  let manyDmsim = Infinity;
  let manyKit = Infinity;
  for (let r = 0; r < rounds; r++) {
    manyKit = Math.min(manyKit, await many(kitUri));
    manyDmsim = Math.min(manyDmsim, await many(dmsimUri));
  }
  const total = CLIENTS * sizeMiB;
  process.stdout.write(
    `${label}: ${CLIENTS} converts at once (best of ${rounds}): nbdkit file ${(total / manyKit).toFixed(0)} MiB/s, ` +
      `dmsim linear ${(total / manyDmsim).toFixed(0)} MiB/s, dmsim/nbdkit ${(manyKit / manyDmsim).toFixed(2)}x\n`,
  );
  await report({
    what: `NBD: ${CLIENTS} \`qemu-img convert\`s of ${sizeMiB} MiB at once, ${label}, vs nbdkit (best of ${rounds})`,
    value: manyKit / manyDmsim,
    unit: 'x',
    detail: `${(total / manyDmsim).toFixed(0)} MiB/s, nbdkit ${(total / manyKit).toFixed(0)} MiB/s`,
    goal: { min: 1.0 },
  });
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
    await client.request('create', { name: 'lin2', table: `0 ${bytes / 512} linear ${file} 0` });
    const dmsimUnix = (await client.request('export', { name: 'lin' })).uri;
    const dmsimTcp = (await client.request('export', { name: 'lin2', listen: 'tcp:127.0.0.1:0' })).uri;
    client.close();
    const kitPort = await freePort();
    nbdkit = await startNbdkit(dir, file, kitPort);
    await compare('unix socket', dmsimUnix, `nbd+unix:///?socket=${join(dir, 'nbdkit.sock')}`, sizeMiB, rounds);
    await compare('loopback tcp', dmsimTcp, `nbd://127.0.0.1:${kitPort}/`, sizeMiB, rounds);
  } finally {
    nbdkit?.kill('SIGTERM');
    await daemon.close();
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
