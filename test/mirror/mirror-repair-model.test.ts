// Model-based property test of failures and LVM-style repairs, through dmsim's DeviceMapper: a 3-leg mirror
// (core or disk log; no features, handle_errors, or handle_errors keep_log) whose legs are linear devices
// over memory disks. fast-check draws writes, reads, failures of ANY leg (the default one too: a primary
// switch with handle_errors) as an `error` or a flakey `error_writes` table on the leg's device, and repairs.
// A repair is what lvconvert --repair plus re-adding the image amounts to: the failed legs' devices get their
// linear table back, then the mirror is suspended with --noflush (held writes are reissued, not failed) and
// reloaded with the legs that hold every acknowledged write first and the repaired ones after them, and
// resumed; it resyncs from the new first leg. When the live default mirror holds everything (possibly a leg
// the instance switched to), a drawn repair may instead be the plain suspend/resume after enable_dev, which
// resyncs from that default. Double faults (the last leg holding some acknowledged write fails) are not drawn.
//
// Expectations (reference/mirror.md §5, §9; kernel-6.1-notes.md):
//  * an acknowledged write is in the model; a write may be refused with EIO only after a leg failed (a write
//    to an out-of-sync region goes to the failed default alone) and then leaves every healthy leg unchanged;
//  * with handle_errors and without keep_log, a failed write is held until the repair, which completes it;
//    otherwise a write that reached a healthy leg succeeds at once;
//  * reads return the model's bytes; only an out-of-sync region's read may get EIO (its default failed);
//  * after every repair's resync, every leg (all healthy again and in sync) equals the model.

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/base/clock.js';
import { IoError } from '../../src/base/errors.js';
import { EventBus } from '../../src/base/events.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { KcopydEngine } from '../../src/kcopyd/engine.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { settle } from './support/harness.js';

const LV = 1024;
const REGION = 64; // 16 regions
const DISK = 1100;
const LEGS = 3;

type Features = '' | ' 1 handle_errors' | ' 2 handle_errors keep_log';
type Op =
  | { kind: 'write'; sector: number; count: number; byte: number }
  | { kind: 'read'; sector: number; count: number }
  | { kind: 'fail'; pos: number; how: 'error' | 'flakey' }
  | { kind: 'repair'; reload: boolean };

/** A request inside one region, as the dm core splits them; mostly a few regions, so they are hit again. */
const region = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: 0, max: 3 }) },
  { weight: 1, arbitrary: fc.integer({ min: 0, max: LV / REGION - 1 }) },
);
const extent = fc
  .record({ region, start: fc.integer({ min: 0, max: REGION - 1 }), count: fc.integer({ min: 1, max: 16 }) })
  .map(({ region, start, count }) => ({ sector: region * REGION + start, count: Math.min(count, REGION - start) }));

const op: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc
      .tuple(extent, fc.integer({ min: 1, max: 255 }))
      .map(([e, byte]) => ({ kind: 'write' as const, ...e, byte })),
  },
  { weight: 2, arbitrary: extent.map((e) => ({ kind: 'read' as const, ...e })) },
  {
    weight: 2,
    // pos: the leg's place in the CURRENT table (0 = the default mirror of a freshly loaded table).
    arbitrary: fc
      .record({ pos: fc.integer({ min: 0, max: LEGS - 1 }), how: fc.constantFrom('error' as const, 'flakey' as const) })
      .map((f) => ({ kind: 'fail' as const, ...f })),
  },
  { weight: 1, arbitrary: fc.boolean().map((reload) => ({ kind: 'repair' as const, reload })) },
);

class Lab {
  readonly clock = new ManualClock();
  readonly bus = new EventBus();
  readonly engine = new KcopydEngine({ bus: this.bus, clock: this.clock });
  readonly dm = new DeviceMapper({ bus: this.bus, clock: this.clock, kcopyd: this.engine });
  readonly disks: MemoryDevice[] = [];
  /** Disk index of each leg, in the order of the live table. */
  order = [...Array(LEGS).keys()];
  /** Disks whose image device carries a failing table. */
  readonly failed = new Set<number>();
  readonly model = Buffer.alloc(LV * 512);
  /** Regions written while a leg was failing since the last repair: out of sync (§5 write error). */
  readonly nosync = new Set<number>();
  /** Healthy disks that missed an acknowledged write (an out-of-sync region's write reaches the default alone). */
  readonly stale = new Set<number>();
  /** The disk the live table instance started as its default mirror: its first leg, or after a repair by
   * suspend/resume alone the leg that was the default then (a resume keeps the instance's default). */
  startDefault = 0;
  /** A leg failed after the last write to an in-sync region (which reports every failing leg to the mirror). */
  unseenFailure = false;

  constructor(
    readonly log: 'core' | 'disk',
    readonly features: Features,
  ) {}

  async setup(): Promise<void> {
    for (let i = 0; i <= LEGS; i++) {
      const disk = new MemoryDevice(`disk${i}`, DISK);
      this.disks.push(disk);
      this.dm.addBackingDevice(`/dev/disk${i}`, disk);
    }
    for (let i = 0; i < LEGS; i++) await this.dm.create(`lv_mimage_${i}`, this.linear(i));
    await this.dm.create('lv_mlog', `0 8 linear /dev/disk${LEGS} 0`);
    await this.dm.create('lv', this.mirrorTable());
    await this.waitForSync();
  }

  linear(i: number): string {
    return `0 ${DISK} linear /dev/disk${i} 0`;
  }

  mirrorTable(): string {
    const log = this.log === 'core' ? `core 1 ${REGION}` : `disk 2 /dev/mapper/lv_mlog ${REGION}`;
    const legs = this.order.map((i) => `/dev/mapper/lv_mimage_${i} 0`).join(' ');
    return `0 ${LV} mirror ${log} ${LEGS} ${legs}${this.features}`;
  }

  async swap(name: string, table: string): Promise<void> {
    await this.dm.load(name, table);
    await this.dm.resume(name);
  }

  async fail(pos: number, how: 'error' | 'flakey'): Promise<void> {
    const i = this.order[pos]!;
    // The last healthy leg holding every acknowledged write is never taken away: that double fault loses data.
    if (this.failed.has(i) || !this.order.some((j) => j !== i && !this.failed.has(j) && !this.stale.has(j))) return;
    this.failed.add(i);
    this.unseenFailure = true;
    await this.swap(
      `lv_mimage_${i}`,
      how === 'error' ? `0 ${DISK} error` : `0 ${DISK} flakey /dev/disk${i} 0 0 1 1 error_writes`,
    );
  }

  /**
   * lvconvert --repair, then the images re-added: the legs that hold every acknowledged write first (the new
   * default mirror is the resync source), the repaired and stale ones after them.
   */
  async repair(reload = true): Promise<void> {
    for (const i of this.failed) await this.swap(`lv_mimage_${i}`, this.linear(i));
    const fresh = (i: number): boolean => !this.failed.has(i) && !this.stale.has(i);
    // Without a reload the resync copies from the instance's current default: only a repair when that leg
    // holds everything (the documented way: enable the PV, then suspend/resume), else reload.
    const current = this.currentDefault();
    if (!reload && current !== null && fresh(current)) {
      this.startDefault = current;
    } else {
      reload = true;
      this.order = [...this.order.filter(fresh), ...this.order.filter((i) => !fresh(i))];
      this.startDefault = this.order[0]!;
    }
    this.failed.clear();
    this.stale.clear();
    this.nosync.clear();
    this.unseenFailure = false;
    await this.dm.suspend('lv', { noflush: true });
    if (reload) await this.dm.load('lv', this.mirrorTable());
    await this.dm.resume('lv');
    await this.waitForSync();
    await settle();
    const status = (await this.dm.status('lv'))[0]!.params;
    expect(status).toMatch(new RegExp(` 16/16 1 AAA ${this.log === 'core' ? '1 core' : '3 disk \\S+ A'}$`));
    for (const i of this.order)
      expect((await this.image(i)).equals(this.model), `disk${i} equals the model after the resync`).toBe(true);
  }

  /**
   * The default mirror where the test can tell it: the instance's first default while it is healthy (it
   * never moves off a healthy leg); after a failure the mirror has seen (keep_log switches at once), the
   * lowest healthy leg, as every failed leg carries errors; without handle_errors it never moves. Null when
   * unknown.
   */
  currentDefault(): number | null {
    if (!this.failed.has(this.startDefault) || this.features === '') return this.startDefault;
    if (this.features === ' 2 handle_errors keep_log' && !this.unseenFailure)
      return this.order.find((i) => !this.failed.has(i)) ?? null;
    return null;
  }

  async waitForSync(): Promise<void> {
    for (let polls = 0; polls < 100000; polls++) {
      const words = (await this.dm.status('lv'))[0]!.params.split(' ');
      const [a, b] = words[1 + LEGS]!.split('/').map(Number);
      if (a === b && b! > 0) return;
      await new Promise((r) => setImmediate(r));
      this.clock.advance(10);
    }
    throw new Error('the mirror never synced');
  }

  async image(i: number): Promise<Buffer> {
    const buf = Buffer.alloc(LV * 512);
    await this.disks[i]!.read(0, buf);
    return buf;
  }

  /** What the healthy legs hold in the sectors of a write (a refused write must leave them as they were). */
  async healthyRanges(sector: number, count: number): Promise<Buffer[]> {
    const healthy = this.order.filter((i) => !this.failed.has(i));
    return Promise.all(
      healthy.map(async (i) => {
        const buf = Buffer.alloc(count * 512);
        await this.disks[i]!.read(sector, buf);
        return buf;
      }),
    );
  }

  async write(o: Extract<Op, { kind: 'write' }>): Promise<void> {
    const data = Buffer.alloc(o.count * 512, o.byte);
    const range = [o.sector * 512, (o.sector + o.count) * 512] as const;
    const region = Math.floor(o.sector / REGION);
    const outOfSync = this.nosync.has(region);
    const degraded = this.failed.size > 0;
    const before = await this.healthyRanges(o.sector, o.count);
    const dev = await this.dm.open('lv');
    let settled = false;
    const w: Promise<Error | null> = dev.write(o.sector, data).then(
      () => null,
      (e: Error) => e,
    );
    void w.then(() => (settled = true));
    await settle();
    // handle_errors without keep_log holds every write once a leg's device fails: an in-sync region's write
    // fails on that leg, an out-of-sync region's is held untried. Nothing else ever holds a write.
    const held = !settled;
    expect(held, 'held exactly when handle_errors (no keep_log) and a leg has failed').toBe(
      this.features === ' 1 handle_errors' && degraded,
    );
    if (held) {
      await this.repairWhileHeld(data, range, w);
      await dev.close();
      return;
    }
    const error = await w;
    await dev.close();
    // Which writes the reference refuses: an out-of-sync region's write goes to the default mirror alone and
    // its error goes back to the writer. Without handle_errors the default is always the table's first leg;
    // with keep_log the default moves off a failed leg as soon as the mirror sees the failure, which a write
    // to an in-sync region always makes it see.
    if (this.features === '')
      expect(error !== null, 'refused exactly when out of sync with the default failed').toBe(
        outOfSync && this.failed.has(this.startDefault),
      );
    else if (error)
      expect(
        outOfSync && this.unseenFailure,
        'keep_log refuses only a write to a failed default it has not seen fail',
      ).toBe(true);
    if (degraded && !outOfSync) {
      this.nosync.add(region);
      this.unseenFailure = false;
    }
    if (!error) {
      data.copy(this.model, range[0]);
      // An out-of-sync region's write went to the default alone, and an acknowledged one means the default is
      // healthy: the instance's first default, or else the lowest healthy leg (it only ever moves to the lowest
      // leg without errors, and healthy legs have none).
      if (outOfSync) {
        const def = this.failed.has(this.startDefault)
          ? this.order.find((i) => !this.failed.has(i))
          : this.startDefault;
        for (const i of this.order) if (i !== def && !this.failed.has(i)) this.stale.add(i);
      }
      return;
    }
    expect(error, 'a refused write is an EIO').toBeInstanceOf(IoError);
    const after = await this.healthyRanges(o.sector, o.count);
    for (const [k, img] of after.entries())
      expect(img.equals(before[k]!), 'a refused write changed a healthy leg').toBe(true);
  }

  /** The repair driven while a write is held: the noflush suspend reissues it, the writer sees success. */
  private async repairWhileHeld(
    data: Buffer,
    range: readonly [number, number],
    w: Promise<Error | null>,
  ): Promise<void> {
    // The write is acknowledged during the suspend, before the resync completes and the legs are compared,
    // so the model gains it first; the acknowledgement is checked after.
    data.copy(this.model, range[0]);
    await this.repair();
    expect(await w, 'a held write completes at the repair').toBeNull();
  }

  async read(o: Extract<Op, { kind: 'read' }>): Promise<void> {
    const dev = await this.dm.open('lv');
    const buf = Buffer.alloc(o.count * 512);
    try {
      await dev.read(o.sector, buf);
      expect(
        buf.equals(this.model.subarray(o.sector * 512, (o.sector + o.count) * 512)),
        `read of ${o.sector}+${o.count} returns the model`,
      ).toBe(true);
    } catch (e) {
      expect(e).toBeInstanceOf(IoError);
      // An in-sync region is read from any leg without errors, and one is always healthy; an out-of-sync one
      // only from the default mirror (§5), which without handle_errors never moves.
      const outOfSync = this.nosync.has(Math.floor(o.sector / REGION));
      expect(outOfSync, `read of ${o.sector}+${o.count} refused in an in-sync region`).toBe(true);
      if (this.features === '')
        expect(
          this.failed.has(this.startDefault),
          `read of ${o.sector}+${o.count} refused with the default healthy`,
        ).toBe(true);
    } finally {
      await dev.close();
    }
  }
}

async function run(log: 'core' | 'disk', features: Features, ops: Op[]): Promise<void> {
  const lab = new Lab(log, features);
  try {
    await lab.setup();
    for (const o of ops) {
      if (o.kind === 'write') await lab.write(o);
      else if (o.kind === 'read') await lab.read(o);
      else if (o.kind === 'fail') await lab.fail(o.pos, o.how);
      else await lab.repair(o.reload);
    }
    await lab.repair();
  } finally {
    await lab.dm.close();
  }
}

// One property per table variant, each with its share of the runs (the single property over all six drew a
// variant per run, ~250 each on average): each has its own timeout and names its variant when it fails, and
// fast-check prints the seed and path that replay a failure.
const RUNS_PER_VARIANT = 250;
const variants = (['core', 'disk'] as const).flatMap((log) =>
  (['', ' 1 handle_errors', ' 2 handle_errors keep_log'] as const).map(
    (features) => [log, features.trim() || 'no features', features] as const,
  ),
);

describe('mirror failures and LVM-style repairs against a model', () => {
  it.each(variants)(
    'any leg fails (the default too), %s log, %s; every leg equals the model after each repair',
    async (log, _name, features) => {
      await fc.assert(
        fc.asyncProperty(fc.array(op, { maxLength: 40 }), (ops) => run(log, features, ops)),
        { numRuns: RUNS_PER_VARIANT },
      );
    },
  );
});
