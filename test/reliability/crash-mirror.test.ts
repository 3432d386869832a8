// Crash consistency of a two-leg mirror with a disk log under `kill -9` of the real daemon, at random points
// in a random workload (seeds 1 and 2 every run plus a fresh one, printed; DMSIM_SEED=N replays one). After
// each kill, before the restart, the files show the disk log's promise (dm-raid1 marks a region dirty in the
// log, and flushes the log, before writing to it): every region where the legs differ is dirty on disk. After the restart with --state the daemon activates the
// mirror by itself; it must recover exactly the regions the log had dirty (read from its trace), the mirror
// must read what the model allows (flushed writes kept), and the legs must end identical.

import { promises as fsp } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ControlClient } from '../../src/control/client.js';
import { type DaemonHandle, startDaemon } from '../support/daemon-process.js';
import { seededRng, seedsToRun } from '../support/seeds.js';
import { daemonDeviceState, onFileChange, untilDaemonStatus, waitFor } from '../support/wait.js';
import { killPoint, makeImage, sizesOf } from './support/files.js';
import { SectorModel, writeData } from './support/sector-model.js';
import { Workload } from './support/workload.js';

/** Kills per seed (each seed's workload and kill points differ). */
const KILLS = Number(process.env.DMSIM_MIRROR_KILLS ?? 10);
const SEEDS = seedsToRun('crash-mirror', [1, 2]);
const M = 1024; // mirror sectors
const REGION = 16;
const REGIONS = M / REGION;
const LOG_MAGIC = 0x4d695272;
const LOG_BITS_OFFSET = 1024;

/** The regions the on-disk log does not mark clean (all of them when it has no valid header). */
function dirtyOnDisk(log: Buffer): Set<number> {
  const dirty = new Set<number>();
  const valid = log.readUInt32LE(0) === LOG_MAGIC && log.readBigUInt64LE(8) === BigInt(REGIONS);
  for (let r = 0; r < REGIONS; r++) {
    const clean = valid && ((log[LOG_BITS_OFFSET + (r >> 3)]! >> (r & 7)) & 1) === 1;
    if (!clean) dirty.add(r);
  }
  return dirty;
}

function differingRegions(a: Buffer, b: Buffer): number[] {
  const out: number[] = [];
  const bytes = REGION * 512;
  for (let r = 0; r < REGIONS; r++)
    if (!a.subarray(r * bytes, (r + 1) * bytes).equals(b.subarray(r * bytes, (r + 1) * bytes))) out.push(r);
  return out;
}

/** The mirror.recovery events of a daemon's trace file: the regions whose recovery started, and how many ended. */
async function recoveries(trace: string): Promise<{ starts: number[]; ends: number }> {
  const lines = (await readFile(trace, 'utf8')).split('\n').filter((l) => l.endsWith('}'));
  const events = lines.map((l) => JSON.parse(l) as { type: string; phase?: string; region?: number });
  const starts = events.filter((e) => e.type === 'mirror.recovery' && e.phase === 'start').map((e) => e.region!);
  const ends = events.filter((e) => e.type === 'mirror.recovery' && e.phase === 'end').length;
  return { starts: starts.sort((x, y) => x - y), ends };
}

/**
 * The regions the daemon's trace shows it recovered, once at least `expected` recoveries started and every one
 * that started has ended (the trace is written asynchronously, so it may lag the status a little).
 */
function recoveredRegions(trace: string, expected: number, state: () => Promise<string>): Promise<number[]> {
  return waitFor(
    `${expected} region recoveries, all ended, in ${trace}`,
    async () => {
      const { starts, ends } = await recoveries(trace);
      return starts.length >= expected && ends === starts.length ? starts : undefined;
    },
    onFileChange(trace),
    async () => `${JSON.stringify(await recoveries(trace))}\n${await state()}`,
  );
}

describe('disk-log mirror: kill -9 at random points', () => {
  it.each(SEEDS)(
    `seed %i: keeps every flushed write, resyncs only the dirty regions and ends with identical legs over ${KILLS} kills`,
    async (seed) => {
      const rng = seededRng(seed);
      const dir = await mkdtemp(join(tmpdir(), 'dmsim-crash-mirror-'));
      const socket = join(dir, 'control');
      const state = join(dir, 'state.json');
      const [a, b, log] = ['a.img', 'b.img', 'log.img'].map((f) => join(dir, f)) as [string, string, string];
      let daemon: DaemonHandle | null = null;
      let life = 0;
      try {
        await makeImage(a, writeData(0, M, 0));
        await makeImage(b, M * 512);
        await makeImage(log, 8192);
        const sizes = await sizesOf([a, b, log]);
        const model = new SectorModel('mirror', M, () => 0);
        let tag = 1;
        let acknowledged = 0;
        let recoveredTotal = 0;

        daemon = await startDaemon(socket, ['--state', state]);
        let c = await ControlClient.connect(socket);
        await c.request('create', {
          name: 'm',
          table: `0 ${M} mirror disk 2 ${log} ${REGION} 2 ${a} 0 ${b} 0 1 handle_errors`,
        });

        for (life = 1; life <= KILLS; life++) {
          const work = new Workload(socket, rng, tag);
          const running = work.run(
            [0, 1, 2].map((i) => ({
              device: 'm',
              model,
              owns: (s: number) => Math.floor(s / 8) % 3 === i,
              maxSectors: 1 + rng.int(REGION),
            })),
          );
          await killPoint(work, rng.int(40), rng.int(10));
          c.close();
          await daemon.kill('SIGKILL');
          work.stop();
          await Promise.all(running);
          tag = work.nextTag();
          acknowledged += work.acknowledged;
          const where = `seed ${rng.seed} life ${life}`;
          expect(await sizesOf([a, b, log])).toEqual(sizes);

          const dirty = dirtyOnDisk(await readFile(log));
          const differ = differingRegions(await readFile(a), await readFile(b));
          expect(
            differ.filter((r) => !dirty.has(r)),
            `${where}: legs differ in regions the log says are clean`,
          ).toEqual([]);

          const trace = join(dir, `trace-${life}.jsonl`);
          daemon = await startDaemon(socket, ['--state', state, '--trace', trace]);
          c = await ControlClient.connect(socket);
          await untilDaemonStatus(socket, c, 'm', `resynced (${where})`, (st) =>
            st.includes(` ${REGIONS}/${REGIONS} `),
          );
          const client = c;
          const recovered = await recoveredRegions(trace, dirty.size, () => daemonDeviceState(client, 'm'));
          recoveredTotal += recovered.length;
          expect(recovered, `${where}: regions recovered vs dirty in the log`).toEqual(
            [...dirty].sort((x, y) => x - y),
          );
          expect(
            model.settle(await c.read('m', 0, M)),
            `${where} (${work.acknowledged} writes acknowledged, ${work.flushes} flushes)`,
          ).toEqual([]);
          const [legA, legB] = [await readFile(a), await readFile(b)];
          expect(legA.equals(legB), `${where}: legs differ after resync`).toBe(true);
          expect(legA.equals(model.image()), `${where}: legs do not hold the model's data`).toBe(true);
          await fsp.rm(trace);
        }
        c.close();
        await daemon.kill('SIGTERM');
        process.stdout.write(
          `crash-mirror: ${KILLS} kills, ${acknowledged} writes acknowledged, ${recoveredTotal} of ${KILLS * REGIONS} region recoveries\n`,
        );
        expect(acknowledged).toBeGreaterThan(KILLS);
        expect(recoveredTotal).toBeGreaterThan(0);
        expect(recoveredTotal).toBeLessThan(KILLS * REGIONS); // not a full resync every time
        expect(await sizesOf([a, b, log])).toEqual(sizes);
      } catch (e) {
        throw new Error(
          `crash-mirror failed at life ${life}; replay with DMSIM_SEED=${seed}: ${(e as Error).message}`,
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
