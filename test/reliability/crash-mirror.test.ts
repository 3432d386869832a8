// Crash consistency of a two-leg mirror with a disk log under `kill -9` of the real daemon, at random points
// in a random workload (seeded; DMSIM_SEED replays). After each kill, before the restart, the files show the
// disk log's promise (dm-raid1 marks a region dirty in the log, and flushes the log, before writing to it):
// every region where the legs differ is dirty on disk. After the restart with --state the daemon activates the
// mirror by itself; it must recover exactly the regions the log had dirty (read from its trace), the mirror
// must read what the model allows (flushed writes kept), and the legs must end identical.

import { promises as fsp } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ControlClient } from '../../src/control/client.js';
import { type DaemonHandle, startDaemon } from '../support/daemon-process.js';
import { killPoint, makeImage, sizesOf } from './support/files.js';
import { seededRng } from './support/rng.js';
import { SectorModel, writeData } from './support/sector-model.js';
import { Workload } from './support/workload.js';

const KILLS = Number(process.env.DMSIM_MIRROR_KILLS ?? 26);
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

/**
 * The regions the daemon's trace shows it recovered, once at least `expected` recoveries started and every one
 * that started has ended (the trace is written asynchronously, so it may lag the status a little).
 */
async function recoveredRegions(trace: string, expected: number): Promise<number[]> {
  for (let i = 0; ; i++) {
    const lines = (await readFile(trace, 'utf8')).split('\n').filter((l) => l.endsWith('}'));
    const events = lines.map((l) => JSON.parse(l) as { type: string; phase?: string; region?: number });
    const starts = events.filter((e) => e.type === 'mirror.recovery' && e.phase === 'start').map((e) => e.region!);
    const ends = events.filter((e) => e.type === 'mirror.recovery' && e.phase === 'end').length;
    if ((starts.length >= expected && ends === starts.length) || i > 400) return starts.sort((x, y) => x - y);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('disk-log mirror: kill -9 at random points', () => {
  it(`keeps every flushed write, resyncs only the dirty regions and ends with identical legs over ${KILLS} kills`, async () => {
    const rng = seededRng('crash-mirror');
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
        await killPoint(() => work.acknowledged, rng.int(40), rng.int(10));
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
        for (let i = 0; ; i++) {
          const [status] = await c.request('status', { name: 'm' });
          if (status!.params.includes(` ${REGIONS}/${REGIONS} `)) break;
          if (i > 2000) throw new Error(`${where}: mirror did not resync: ${status!.params}`);
          await new Promise((r) => setTimeout(r, 5));
        }
        const recovered = await recoveredRegions(trace, dirty.size);
        recoveredTotal += recovered.length;
        expect(recovered, `${where}: regions recovered vs dirty in the log`).toEqual([...dirty].sort((x, y) => x - y));
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
        `crash-mirror failed at life ${life}; replay with DMSIM_SEED as printed above: ${(e as Error).message}`,
        { cause: e },
      );
    } finally {
      await daemon?.kill('SIGKILL');
      await rm(dir, { recursive: true, force: true });
    }
  }, 240_000);
});
