// Every argument kcopyd refuses (where the kernel would corrupt memory, overrun a buffer, fail bios or race
// its own chunks): an InvalidArgumentError (or ReadOnlyError) before any I/O, no job counted, no callback.

import { describe, expect, it } from 'vitest';
import { DmError, InvalidArgumentError } from '../../src/base/errors.js';
import { EventBus } from '../../src/base/events.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { KcopydEngine } from '../../src/kcopyd/engine.js';
import { createKcopydClient } from '../../src/kcopyd/kcopyd-client.js';
import { ManualScheduler } from '../../src/kcopyd/scheduler.js';
import { KcopydThrottle } from '../../src/kcopyd/throttle.js';
import type { IoRegion, KcopydFlags } from '../../src/kcopyd/types.js';
import { FaultyDevice } from './fault-devices.js';
import { harness } from './harness.js';

function setup(subJobSectors = 16) {
  const h = harness({ subJobSectors });
  const client = h.engine.createClient({ owner: 't' });
  const a = new FaultyDevice('a', 100);
  const b = new FaultyDevice('b', 100);
  const ro = new FaultyDevice('ro', 100, true);
  let called = 0;
  const notify = (): void => {
    called++;
  };
  /** Expects the job to be refused with `code` and a message matching `msg`, with nothing started. */
  const refused = (run: () => void, msg: RegExp, code = 'EINVAL'): void => {
    let err: unknown;
    try {
      run();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(DmError);
    expect((err as DmError).code).toBe(code);
    expect((err as DmError).message).toMatch(msg);
    expect(h.scheduler.pending).toHaveLength(0);
    expect(client.outstanding).toBe(0);
    expect(h.jobEvents()).toEqual([]);
    expect(a.log.length + b.log.length + ro.log.length).toBe(0);
    expect(called).toBe(0);
  };
  const r = (bdev: FaultyDevice, sector: number, count: number): IoRegion => ({ bdev, sector, count });
  return { h, client, a, b, ro, notify, refused, r };
}

describe('copy/zero refusals', () => {
  it('no destination', () => {
    const { client, a, notify, refused, r } = setup();
    refused(() => client.copy(r(a, 0, 8), [], {}, notify, null), /at least one destination/);
    refused(() => client.zero([], {}, notify, null), /at least one destination/);
  });

  it('more than 8 destinations', () => {
    const { client, a, notify, refused, r } = setup();
    const many = Array.from({ length: 9 }, () => new FaultyDevice('x', 100));
    refused(
      () =>
        client.copy(
          r(a, 0, 8),
          many.map((d) => r(d, 0, 8)),
          {},
          notify,
          null,
        ),
      /9 destinations given, at most 8/,
    );
  });

  it('unequal counts: source against a destination, and destinations against each other when zeroing', () => {
    const { client, a, b, notify, refused, r } = setup();
    refused(
      () => client.copy(r(a, 0, 8), [r(b, 0, 16)], {}, notify, null),
      /destination 0 .* has 16 sectors but the source has 8/,
    );
    const c = new FaultyDevice('c', 100);
    refused(
      () => client.zero([r(b, 0, 8), r(c, 0, 7)], {}, notify, null),
      /destination 1 .* has 7 sectors but destination 0 has 8/,
    );
  });

  it('regions past the end of a device', () => {
    const { client, a, b, notify, refused, r } = setup();
    refused(
      () => client.copy(r(a, 96, 8), [r(b, 0, 8)], {}, notify, null),
      /source region a:96\+8 ends at sector 104, beyond the end of a \(100 sectors\)/,
    );
    refused(
      () => client.copy(r(a, 0, 8), [r(b, 93, 8)], {}, notify, null),
      /destination 0 region b:93\+8 .*beyond the end of b/,
    );
    refused(() => client.zero([r(b, 100, 1)], {}, notify, null), /beyond the end of b/);
  });

  it('malformed sectors and counts', () => {
    const { client, a, b, notify, refused, r } = setup();
    refused(() => client.copy(r(a, -1, 8), [r(b, 0, 8)], {}, notify, null), /invalid start sector -1/);
    refused(() => client.copy(r(a, 0, 1.5), [r(b, 0, 1.5)], {}, notify, null), /invalid sector count 1.5/);
    refused(
      () => client.copy({ bdev: null as unknown as FaultyDevice, sector: 0, count: 8 }, [r(b, 0, 8)], {}, notify, null),
      /source region has no block device/,
    );
  });

  it('source and destination overlapping in a job that will be split', () => {
    const { client, a, notify, refused, r } = setup(16);
    refused(
      () => client.copy(r(a, 0, 32), [r(a, 8, 32)], {}, notify, null),
      /overlap and the job is split into 16-sector chunks/,
    );
  });

  it('destinations overlapping each other', () => {
    const { client, a, b, notify, refused, r } = setup();
    refused(
      () => client.copy(r(a, 0, 8), [r(b, 0, 8), r(b, 4, 8)], {}, notify, null),
      /destinations 0 .* and 1 .* overlap/,
    );
  });

  it('a read-only destination', () => {
    const { client, a, ro, notify, refused, r } = setup();
    refused(() => client.copy(r(a, 0, 8), [r(ro, 0, 8)], {}, notify, null), /read-only/, 'EROFS');
  });

  it('kernel flag numbers: a type error, and refused at run time (the WRITE_SEQ bit number 2 is the IGNORE_ERROR mask)', () => {
    const { client, a, b, notify, refused, r } = setup();
    // include/linux/dm-kcopyd.h: DM_KCOPYD_IGNORE_ERROR 1, DM_KCOPYD_WRITE_SEQ 2 (bit numbers, test_bit), so the
    // masks are 2 and 4; a caller who passed 2 meaning WRITE_SEQ would get IGNORE_ERROR.
    for (const kernelValue of [1, 2, 4, 6]) {
      // @ts-expect-error a number is not a KcopydFlags: the flags are named, so the two cannot be mixed up
      const flags: KcopydFlags = kernelValue;
      refused(() => client.copy(r(a, 0, 8), [r(b, 0, 8)], flags, notify, null), /kernel flag numbers are refused/);
      refused(() => client.zero([r(b, 0, 8)], flags, notify, null), /flags must be an object/);
    }
  });

  it('unknown flags, non-boolean flags and a missing callback', () => {
    const { client, a, b, notify, refused, r } = setup();
    const unknown = { ignoreError: true, snapMerge: true } as KcopydFlags;
    refused(() => client.copy(r(a, 0, 8), [r(b, 0, 8)], unknown, notify, null), /unknown flag "snapMerge"/);
    const notBoolean = { writeSeq: 1 } as unknown as KcopydFlags;
    refused(() => client.copy(r(a, 0, 8), [r(b, 0, 8)], notBoolean, notify, null), /writeSeq must be true or false/);
    refused(
      () => client.copy(r(a, 0, 8), [r(b, 0, 8)], {}, undefined as unknown as typeof notify, null),
      /notify callback must be a function/,
    );
    expect(() => client.prepareCallback(42 as unknown as typeof notify, null)).toThrow(
      /notify callback must be a function/,
    );
    expect(client.outstanding).toBe(0);
  });

  it('a job whose sub-jobs can never get their pages', () => {
    const h = harness({ subJobSectors: 64, sharedPoolPages: 2 });
    const client = h.engine.createClient({ owner: 't', reservePages: 4 });
    const a = new FaultyDevice('a', 100);
    const b = new FaultyDevice('b', 100);
    expect(() =>
      client.copy({ bdev: a, sector: 0, count: 64 }, [{ bdev: b, sector: 0, count: 64 }], {}, () => undefined, null),
    ).toThrow(
      /can never hold the 8 pages one 64-sector \(sub-\)job needs: its reserve is 4 pages and the shared pool allows 2 more/,
    );
    // 48 sectors = 6 pages = 4 + 2: fine
    client.copy({ bdev: a, sector: 0, count: 48 }, [{ bdev: b, sector: 0, count: 48 }], {}, () => undefined, null);
    expect(client.outstanding).toBe(1);
  });

  it('copyAsync and zeroAsync reject instead of throwing', async () => {
    const { client, a, b, r } = setup();
    await expect(client.copyAsync(r(a, 0, 8), [r(b, 0, 9)])).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(client.zeroAsync([])).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('a destroyed client, and a callback done twice', async () => {
    const { h, client, a, b, r } = setup();
    const cb = client.prepareCallback(() => undefined, null);
    cb.doCallback(false, 0);
    expect(() => cb.doCallback(false, 0)).toThrow(/already done/);
    const gone = client.destroy();
    h.scheduler.step();
    await gone;
    expect(() => client.copy(r(a, 0, 8), [r(b, 0, 8)], {}, () => undefined, null)).toThrow(/has been destroyed/);
    expect(() => client.prepareCallback(() => undefined, null)).toThrow(/has been destroyed/);
  });
});

describe('engine and client option refusals', () => {
  const bus = new EventBus();
  it('sub-job size outside 8..2048 sectors or not whole', () => {
    for (const subJobSectors of [7, 2049, 0, 16.5]) {
      expect(() => new KcopydEngine({ bus, subJobSectors })).toThrow(
        /sub-job size must be a whole number of sectors from 8 to 2048/,
      );
    }
    expect(new KcopydEngine({ bus, subJobSectors: 8 }).subJobSectors).toBe(8);
    expect(new KcopydEngine({ bus, subJobSectors: 2048 }).defaultReservePages).toBe(256);
  });

  it('a negative or fractional shared pool, reserve or throttle; a client without an owner', () => {
    expect(() => new KcopydEngine({ bus, sharedPoolPages: -1 })).toThrow(/shared pool size/);
    const engine = new KcopydEngine({ bus, scheduler: new ManualScheduler() });
    expect(() => engine.createClient({ owner: 'x', reservePages: -1 })).toThrow(
      /reserve must be a whole number of pages/,
    );
    expect(() => engine.createClient({ owner: 'x', reservePages: 2.5 })).toThrow(
      /reserve must be a whole number of pages/,
    );
    expect(() => engine.createClient({ owner: 'x', throttle: -5 })).toThrow(/throttle must be a whole percentage/);
    expect(() => engine.createClient({ owner: '' })).toThrow(/needs an owner/);
    const t = new KcopydThrottle(50);
    expect(() => (t.throttle = 1.5)).toThrow(/whole percentage/);
    expect(t.throttle).toBe(50);
  });

  it('createKcopydClient needs at least one page', () => {
    expect(() => createKcopydClient(0)).toThrow(/needs a whole number of pages >= 1/);
  });
});

describe('createKcopydClient (the classic API)', () => {
  it('makes a client with numPages of reserve that copies on the default engine', async () => {
    const client = createKcopydClient(16, { owner: 'classic' });
    expect(client.owner).toBe('classic');
    const a = new MemoryDevice('a', 64);
    const b = new MemoryDevice('b', 64);
    await a.write(0, Buffer.alloc(8 * 512, 0x5a));
    expect(await client.copyAsync({ bdev: a, sector: 0, count: 8 }, [{ bdev: b, sector: 8, count: 8 }])).toEqual({
      readErr: false,
      writeErr: 0,
    });
    const got = Buffer.alloc(8 * 512);
    await b.read(8, got);
    expect(got.every((x) => x === 0x5a)).toBe(true);
    await client.destroy();
  });
});
