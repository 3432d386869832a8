// A crash-test workload: workers, each on its own connection and its own sectors, send writes and flushes
// one at a time, telling the model what they issued and what a completed flush made durable, until stopped
// (the daemon is killed under them: their last request fails and they end).

import { ControlClient } from '../../../src/control/client.js';
import type { Rng } from '../../support/seeds.js';
import type { Wake } from '../../support/wait.js';
import { type SectorModel, writeData } from './sector-model.js';

export interface WorkerSpec {
  device: string;
  model: SectorModel;
  /** The sectors this worker alone writes, as [first, count) runs of whole chunks. */
  owns: (sector: number) => boolean;
  maxSectors: number;
}

export class Workload {
  private stopped = false;
  private tag: () => number;
  acknowledged = 0;
  flushes = 0;
  private readonly ackListeners = new Set<() => void>();

  /** Wakes on each acknowledged write (for waitFor). */
  readonly onAck: Wake = (notify) => {
    this.ackListeners.add(notify);
    return () => this.ackListeners.delete(notify);
  };

  constructor(
    private readonly socket: string,
    private readonly rng: Rng,
    firstTag: number,
  ) {
    let next = firstTag;
    this.tag = () => next++;
  }

  /** The next unused tag, for the tests' own writes. */
  nextTag(): number {
    return this.tag();
  }

  run(workers: WorkerSpec[]): Promise<void>[] {
    return workers.map(async (w) => {
      const c = await ControlClient.connect(this.socket);
      const unflushed = new Map<number, number>();
      try {
        while (!this.stopped) {
          if (this.rng.chance(0.2)) {
            const acked = new Map(unflushed);
            await c.request('flush', { name: w.device });
            w.model.durable(acked);
            for (const [s, t] of acked) if (unflushed.get(s) === t) unflushed.delete(s);
            this.flushes++;
            continue;
          }
          const count = 1 + this.rng.int(w.maxSectors);
          let sector = this.rng.int(w.model.sectors - count + 1);
          for (let tries = 0; !rangeOwned(w, sector, count) && tries < 64; tries++)
            sector = this.rng.int(w.model.sectors - count + 1);
          if (!rangeOwned(w, sector, count)) continue;
          const tag = this.tag();
          w.model.issued(sector, count, tag);
          await c.write(w.device, sector, writeData(sector, count, tag));
          for (let s = sector; s < sector + count; s++) unflushed.set(s, tag);
          this.acknowledged++;
          for (const l of this.ackListeners) l();
        }
      } catch {
        // the daemon died under this request: what it wrote stays "maybe" in the model
      } finally {
        c.close();
      }
    });
  }

  stop(): void {
    this.stopped = true;
  }
}

function rangeOwned(w: WorkerSpec, sector: number, count: number): boolean {
  for (let s = sector; s < sector + count; s++) if (!w.owns(s)) return false;
  return true;
}
