// Crash consistency of a thin pool under `kill -9` of the real daemon, at random points in a random workload of
// writers and flushes on a thin device while create_snap and delete messages run (seeds 1 and 2 every run plus
// a fresh one, printed; DMSIM_SEED=N replays one). After each kill the metadata the crash left passes
// thin_check; the daemon restarts with --state and activates the pool and the thin device by itself, and the
// thin device reads, sector by sector, its value as of the last completed flush or a write issued since (the
// pool commits on every flush: support/sector-model.ts is the reference).

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { ControlClient } from '../../src/control/client.js';
import { type DaemonHandle, startDaemon } from '../support/daemon-process.js';
import { describeNeeding, missingTools } from '../support/prerequisites.js';
import { seededRng, seedsToRun } from '../support/seeds.js';
import { thinCheck } from '../thin/thin-tools.js';
import { killPoint, makeImage, sizesOf } from './support/files.js';
import { SectorModel, writeData } from './support/sector-model.js';
import { Workload } from './support/workload.js';

const KILLS = Number(process.env.DMSIM_THIN_KILLS ?? 8);
const SEEDS = seedsToRun('crash-thin', [1, 2]);
const T = 2048; // thin device sectors: 16 blocks of 128
const BLOCK = 128;

describeNeeding(missingTools('thin_check'), 'thin pool: kill -9 at random points', () => {
  it.each(SEEDS)(
    `seed %i: metadata passes thin_check and every flushed write is kept over ${KILLS} kills`,
    async (seed) => {
      const rng = seededRng(seed);
      const dir = await mkdtemp(join(tmpdir(), 'dmsim-crash-thin-'));
      const socket = join(dir, 'control');
      const state = join(dir, 'state.json');
      const meta = join(dir, 'meta.img');
      const data = join(dir, 'data.img');
      let daemon: DaemonHandle | null = null;
      let life = 0;
      try {
        await makeImage(meta, 4 << 20);
        await makeImage(data, 8 << 20);
        const sizes = await sizesOf([meta, data]);
        const model = new SectorModel('thin0', T, () => 0);
        let tag = 1;
        let acknowledged = 0;
        let messages = 0;

        daemon = await startDaemon(socket, ['--state', state]);
        let c = await ControlClient.connect(socket);
        await c.request('create', { name: 'pool', table: `0 16384 thin-pool ${meta} ${data} ${BLOCK} 0` });
        await c.request('message', { name: 'pool', sector: 0, message: ['create_thin', '0'] });
        await c.request('create', { name: 'thin0', table: `0 ${T} thin /dev/mapper/pool 0` });
        await c.write('thin0', 0, writeData(0, T, 0));
        await c.request('flush', { name: 'thin0' });

        for (life = 1; life <= KILLS; life++) {
          const work = new Workload(socket, rng, tag);
          const running = work.run(
            [0, 1, 2].map((i) => ({
              device: 'thin0',
              model,
              owns: (s: number) => Math.floor(s / BLOCK) % 3 === i,
              maxSectors: 1 + rng.int(2 * BLOCK),
            })),
          );
          // Snapshots of thin0 made and deleted while it is written: the kill may land inside either message.
          let stop = false;
          const snapper = (async () => {
            const m = await ControlClient.connect(socket);
            try {
              for (let id = 1; !stop; id = (id % 4) + 1) {
                await m.request('message', { name: 'pool', sector: 0, message: ['create_snap', String(id), '0'] });
                await m.request('message', { name: 'pool', sector: 0, message: ['delete', String(id)] });
                messages += 2;
              }
            } catch {
              // the daemon was killed
            } finally {
              m.close();
            }
          })();
          await killPoint(work, rng.int(30), rng.int(10));
          c.close();
          await daemon.kill('SIGKILL');
          stop = true;
          work.stop();
          await Promise.all([...running, snapper]);
          tag = work.nextTag();
          acknowledged += work.acknowledged;
          expect(await sizesOf([meta, data])).toEqual(sizes);
          const check = thinCheck(meta);
          expect(check.status, `seed ${rng.seed} life ${life}: thin_check\n${check.output}`).toBe(0);

          daemon = await startDaemon(socket, ['--state', state]);
          c = await ControlClient.connect(socket);
          const names = (await c.request('ls', {})).map((d) => d.name).sort();
          expect(names, `seed ${rng.seed} life ${life}`).toEqual(['pool', 'thin0']);
          const problems = model.settle(await c.read('thin0', 0, T));
          expect(
            problems,
            `seed ${rng.seed} life ${life} (${work.acknowledged} writes acknowledged, ${work.flushes} flushes)`,
          ).toEqual([]);
        }
        c.close();
        await daemon.kill('SIGTERM');
        process.stdout.write(
          `crash-thin: ${KILLS} kills, ${acknowledged} writes acknowledged, ${messages} snapshot messages\n`,
        );
        expect(acknowledged).toBeGreaterThan(KILLS);
        expect(thinCheck(meta).status).toBe(0);
      } catch (e) {
        throw new Error(`crash-thin failed at life ${life}; replay with DMSIM_SEED=${seed}: ${(e as Error).message}`, {
          cause: e,
        });
      } finally {
        await daemon?.kill('SIGKILL');
        await rm(dir, { recursive: true, force: true });
      }
    },
    240_000,
  );
});
