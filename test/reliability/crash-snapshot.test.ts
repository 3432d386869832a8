// Crash consistency of a persistent snapshot stack under `kill -9` of the real daemon, at random points in a
// random workload (seeds 1 and 2 every run plus a fresh one, printed; DMSIM_SEED=N replays one). After each
// kill the daemon restarts with --state and must activate the origin and every snapshot by itself; then the origin must read, sector
// by sector, either its value as of the last completed flush or a write issued since (reference model:
// support/sector-model.ts), each snapshot must read exactly the origin as it was when the snapshot was
// created (the kernel commits the exception before it lets the origin write through), apart from the
// snapshot's own writes which follow the same flush rule, and no snapshot may be Invalid.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ControlClient } from '../../src/control/client.js';
import { type DaemonHandle, startDaemon } from '../support/daemon-process.js';
import { seededRng, seedsToRun } from '../support/seeds.js';
import { killPoint, makeImage, sizesOf } from './support/files.js';
import { SectorModel, writeData } from './support/sector-model.js';
import { Workload } from './support/workload.js';

/** Kills per seed (each seed's workload and kill points differ). */
const KILLS = Number(process.env.DMSIM_SNAPSHOT_KILLS ?? 10);
const SEEDS = seedsToRun('crash-snapshot', [1, 2]);
const O = 1024; // origin sectors (128 chunks of 8)
const CHUNK = 8;
const COW_BYTES = 1 << 20;
const MAX_SNAPSHOTS = 3;

describe('persistent snapshot stack: kill -9 at random points', () => {
  it.each(SEEDS)(
    `seed %i: keeps every flushed write and every snapshot's data over ${KILLS} kills and restarts`,
    async (seed) => {
      const rng = seededRng(seed);
      const dir = await mkdtemp(join(tmpdir(), 'dmsim-crash-snap-'));
      const socket = join(dir, 'control');
      const state = join(dir, 'state.json');
      const origin = join(dir, 'origin.img');
      const cows = Array.from({ length: MAX_SNAPSHOTS }, (_, i) => join(dir, `cow${i}.img`));
      let daemon: DaemonHandle | null = null;
      let life = 0;
      try {
        await makeImage(origin, writeData(0, O, 0));
        for (const c of cows) await makeImage(c, COW_BYTES);
        const sizes = await sizesOf([origin, ...cows]);
        const originModel = new SectorModel('origin', O, () => 0);
        const snaps: { name: string; model: SectorModel }[] = [];
        let tag = 1;
        let acknowledged = 0;

        daemon = await startDaemon(socket, ['--state', state]);
        let c = await ControlClient.connect(socket);
        await c.request('create', { name: 'origin', table: `0 ${O} snapshot-origin ${origin}` });
        const addSnapshot = async (): Promise<void> => {
          const name = `snap${snaps.length}`;
          await c.request('suspend', { name: 'origin' });
          await c.request('create', { name, table: `0 ${O} snapshot ${origin} ${cows[snaps.length]} P ${CHUNK}` });
          await c.request('resume', { name: 'origin' });
          snaps.push({ name, model: originModel.copy(name) });
        };
        await addSnapshot();

        for (life = 1; life <= KILLS; life++) {
          const work = new Workload(socket, rng, tag);
          const newest = snaps[snaps.length - 1]!;
          const workers = [0, 1, 2].map((i) => ({
            device: 'origin',
            model: originModel,
            // Pairs of chunks, so that a write may span two chunks (the origin splits it; both must be copied).
            owns: (s: number) => Math.floor(s / (2 * CHUNK)) % 3 === i,
            maxSectors: 1 + rng.int(2 * CHUNK),
          }));
          const running = work.run([
            ...workers,
            { device: newest.name, model: newest.model, owns: () => true, maxSectors: 16 },
          ]);
          await killPoint(work, rng.int(40), rng.int(10));
          c.close();
          await daemon.kill('SIGKILL');
          work.stop();
          await Promise.all(running);
          tag = work.nextTag();
          acknowledged += work.acknowledged;
          expect(await sizesOf([origin, ...cows])).toEqual(sizes);

          daemon = await startDaemon(socket, ['--state', state]);
          c = await ControlClient.connect(socket);
          const names = (await c.request('ls', {})).map((d) => d.name);
          expect(names, `seed ${rng.seed} life ${life}`).toEqual(['origin', ...snaps.map((s) => s.name)]);
          const problems = originModel.settle(await c.read('origin', 0, O));
          for (const s of snaps) {
            const [status] = await c.request('status', { name: s.name });
            if (!/^\d+\/\d+ \d+$/.test(status!.params))
              problems.push(`${s.name}: status "${status!.params}" after restart`);
            problems.push(...s.model.settle(await c.read(s.name, 0, O)));
          }
          expect(
            problems,
            `seed ${rng.seed} life ${life} (${work.acknowledged} writes acknowledged, ${work.flushes} flushes)`,
          ).toEqual([]);
          if (snaps.length < MAX_SNAPSHOTS && rng.chance(0.15)) await addSnapshot();
        }
        c.close();
        await daemon.kill('SIGTERM');
        process.stdout.write(
          `crash-snapshot: ${KILLS} kills, ${acknowledged} writes acknowledged, ${snaps.length} snapshots\n`,
        );
        expect(acknowledged).toBeGreaterThan(KILLS); // the kills did land inside a workload
        expect(await sizesOf([origin, ...cows])).toEqual(sizes);
      } catch (e) {
        throw new Error(
          `crash-snapshot failed at life ${life}; replay with DMSIM_SEED=${seed}: ${(e as Error).message}`,
          { cause: e },
        );
      } finally {
        await daemon?.kill('SIGKILL');
        await rm(dir, { recursive: true, force: true });
      }
    },
    240_000,
  );
});
