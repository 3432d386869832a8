// Soak (issue 13, "Done when"): the real daemon (--state) for about a minute under hostile clients (garbage and
// oversize lines, readers that never read, abandoned waits, tables past the target limit, big listings) and
// honest ones (writes and flushes on their own sectors, reference model in support/sector-model.ts), killed
// with -9 and restarted every few seconds. The daemon's resident memory, sampled throughout, must stay under
// RSS_BOUND, and every write acknowledged before a completed flush must read back after each restart.
// Seed 1 and a fresh seed every run (printed; DMSIM_SEED=N replays the choices, not the timing);
// DMSIM_SOAK_LIVES changes the kills per seed.

import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ControlClient } from '../../src/control/client.js';
import { CONNECTION_LIMITS } from '../../src/control/connection.js';
import { MAX_IO_SECTORS, MAX_LINE_BYTES } from '../../src/control/protocol.js';
import { MAX_TABLE_TARGETS } from '../../src/dm/table-parser.js';
import { type DaemonHandle, rssBytes, startDaemon } from '../support/daemon-process.js';
import { type Rng, seededRng, seedsToRun } from '../support/seeds.js';
import { makeImage } from './support/files.js';
import { SectorModel, writeData } from './support/sector-model.js';
import { Workload } from './support/workload.js';

/** Kills per seed. */
const LIVES = Number(process.env.DMSIM_SOAK_LIVES ?? 3);
const SEEDS = seedsToRun('soak', [1]);
/** How long each daemon lives under load before its kill -9. */
const LIFE_MS = 6000;
const MiB = 1024 * 1024;
/**
 * The bound on the daemon's RSS: about 100 MiB for Node, tsx and the devices, plus the hostile clients'
 * connections at once (each held to well under its worst case of ~50 MiB by the limits in connection.ts).
 */
const RSS_BOUND = 400 * MiB;
const DATA_SECTORS = 1024;

describe('soak: hostile and honest clients, kill -9 and restarts', () => {
  it.each(SEEDS)(
    `seed %i: keeps RSS under ${RSS_BOUND / MiB} MiB and every flushed write over ${LIVES} kills`,
    async (seed) => {
      const rng = seededRng(seed);
      const dir = await mkdtemp(join(tmpdir(), 'dmsim-soak-'));
      const socket = join(dir, 'control');
      const state = join(dir, 'state.json');
      const model = new SectorModel('data', DATA_SECTORS, () => 0);
      let daemon: DaemonHandle | null = null;
      let maxRss = 0;
      let tag = 1;
      const counts = { garbage: 0, oversize: 0, unread: 0, waits: 0, tables: 0, listings: 0, writes: 0 };
      try {
        await makeImage(join(dir, 'data.img'), writeData(0, DATA_SECTORS, 0));
        await makeImage(join(dir, 'big.img'), MAX_IO_SECTORS * 512);
        daemon = await startDaemon(socket, ['--state', state]);
        const setup = await ControlClient.connect(socket);
        await setup.request('create', { name: 'data', table: `0 ${DATA_SECTORS} linear ${join(dir, 'data.img')} 0` });
        await setup.request('create', { name: 'big', table: `0 ${MAX_IO_SECTORS} linear ${join(dir, 'big.img')} 0` });
        setup.close();

        for (let life = 1; life <= LIVES; life++) {
          const pid = daemon.pid;
          let stopped = false;
          const sampler = (async () => {
            while (!stopped) {
              maxRss = Math.max(maxRss, await rssBytes(pid).catch(() => 0));
              await sleep(100);
            }
          })();
          const work = new Workload(socket, rng, tag);
          const honest = work.run(
            [0, 1].map((i) => ({
              device: 'data',
              model,
              owns: (s: number) => Math.floor(s / 64) % 2 === i,
              maxSectors: 8,
            })),
          );
          const hostile = HOSTILE.map((client) =>
            (async () => {
              while (!stopped) {
                await client(socket, rng, counts).catch(() => undefined); // the daemon may be killed under it
                await sleep(rng.int(50));
              }
            })(),
          );
          await sleep(LIFE_MS);
          await daemon.kill('SIGKILL');
          stopped = true;
          work.stop();
          await Promise.all([...honest, ...hostile, sampler]);
          tag = work.nextTag();
          counts.writes += work.acknowledged;

          daemon = await startDaemon(socket, ['--state', state]);
          const c = await ControlClient.connect(socket);
          try {
            expect((await c.request('ls', {})).map((d) => d.name)).toEqual(['big', 'data']);
            expect(model.settle(await c.read('data', 0, DATA_SECTORS)), `seed ${rng.seed} life ${life}`).toEqual([]);
          } finally {
            c.close();
          }
        }
        process.stdout.write(
          `soak: ${LIVES} kills, max RSS ${(maxRss / MiB).toFixed(0)} MiB, ${JSON.stringify(counts)}\n`,
        );
        expect(maxRss).toBeGreaterThan(0);
        expect(maxRss, `seed ${rng.seed}`).toBeLessThan(RSS_BOUND);
        expect(counts.writes).toBeGreaterThan(LIVES);
        expect(counts.unread + counts.waits + counts.oversize).toBeGreaterThan(LIVES);
      } finally {
        await daemon?.kill('SIGKILL');
        await rm(dir, { recursive: true, force: true });
      }
    },
    180_000,
  );
});

type Counts = Record<'garbage' | 'oversize' | 'unread' | 'waits' | 'tables' | 'listings', number>;
type HostileClient = (socket: string, rng: Rng, counts: Counts) => Promise<void>;

const HOSTILE: HostileClient[] = [
  // Garbage: random bytes and broken JSON, many lines at once, then gone.
  async (socket, rng, counts) => {
    const s = await raw(socket);
    const lines = Array.from({ length: 1 + rng.int(200) }, () =>
      rng.chance(0.5)
        ? Buffer.from(Array.from({ length: rng.int(80) }, () => rng.int(256))).toString('latin1')
        : `{"id":${rng.int(1000)},"verb":"${['read', 'status', 'wait', 'nope'][rng.int(4)]}","args":${rng.chance(0.5) ? '{}' : '['}`,
    );
    s.write(`${lines.join('\n')}\n`);
    await sleep(rng.int(30));
    s.destroy();
    counts.garbage++;
  },
  // A line over the limit, in pieces, never finished.
  async (socket, rng, counts) => {
    const s = await raw(socket);
    const piece = Buffer.alloc(MiB, 'x');
    for (let sent = 0; sent <= MAX_LINE_BYTES && !s.destroyed; sent += piece.length) {
      if (!s.write(piece)) await new Promise((r) => s.once('drain', r).once('close', r));
    }
    await sleep(rng.int(30));
    s.destroy();
    counts.oversize++;
  },
  // Big reads whose replies are never read.
  async (socket, rng, counts) => {
    const s = await raw(socket);
    s.pause();
    const n = 20 + rng.int(100);
    s.write(
      Array.from(
        { length: n },
        (_, i) =>
          `${JSON.stringify({ id: i, verb: 'read', args: { name: 'big', sector: 0, count: MAX_IO_SECTORS } })}\n`,
      ).join(''),
    );
    await sleep(500 + rng.int(1000));
    s.destroy();
    counts.unread++;
  },
  // A connection's worth of waits, abandoned.
  async (socket, rng, counts) => {
    const s = await raw(socket);
    s.write(
      Array.from(
        { length: CONNECTION_LIMITS.waits },
        (_, i) => `${JSON.stringify({ id: i, verb: 'wait', args: { name: rng.chance(0.5) ? 'data' : 'big' } })}\n`,
      ).join(''),
    );
    await sleep(rng.int(200));
    s.destroy();
    counts.waits++;
  },
  // Tables past the target limit (refused), and full listings while they are sent.
  async (socket, rng, counts) => {
    const c = await ControlClient.connect(socket);
    try {
      const n = MAX_TABLE_TARGETS + 1 + rng.int(1000);
      const table = Array.from({ length: n }, (_, i) => `${i} 1 zero`).join('\n');
      const refused = c.request('create', { name: 'huge', table }).then(
        () => false,
        (e: { code?: string }) => e.code === 'EOVERFLOW',
      );
      await c.request('status', {});
      await c.request('table', {});
      counts.listings++;
      if (await refused) counts.tables++;
    } finally {
      c.close();
    }
  },
];

function raw(socket: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(socket, () => {
      s.on('error', () => s.destroy()); // the daemon closing on us (or killed) is what these clients expect
      resolve(s);
    });
    s.once('error', reject);
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
