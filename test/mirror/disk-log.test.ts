// The disk log's activation rules on logs LVM or others wrote (reference/mirror.md section 3), checked
// against Linux 6.1 (fixtures/mirror/log-headers.out from jobs/log-headers.sh): LVM's initialised logs
// (nr_regions = 2^64-1 with all bits set or clear), version 1 read as 2, an incompatible version (the log
// fails, every region resyncs, the header keeps its version), too small a device. The kernel's ratio for
// the resyncing cases depends on how far its throttled resync got before the status: only its start is
// compared there.

import { describe, expect, it } from 'vitest';
import { MIRROR_MAGIC } from '../../targets/mirror/disk-log.js';
import { mirrorTargetType } from '../../targets/mirror/mirror.js';
import { checkpoints } from './support/checkpoints.js';
import { logSummary, quiesce, Rig, syncRatio } from './support/harness.js';

const LEN = 4000; // 32 regions of 128 sectors: an 8-byte bitset, a 3-sector buffer

const kernel = checkpoints('log-headers.out');

async function logWith(rig: Rig, version: number, nrRegions: bigint, bits: number): Promise<void> {
  const buf = Buffer.alloc(4096, bits);
  buf.fill(0x5c, 16, 1024); // bytes the kernel never defines
  buf.writeUInt32LE(MIRROR_MAGIC, 0);
  buf.writeUInt32LE(version, 4);
  buf.writeBigUInt64LE(nrRegions, 8);
  await rig.dev('/dev/log').inner.write(0, buf);
}

function rig(): Rig {
  const r = new Rig();
  r.add('/dev/l0', 4096);
  r.add('/dev/l1', 4096);
  r.add('/dev/log', 8);
  return r;
}

const TABLE = 'disk 2 /dev/log 128 2 /dev/l0 0 /dev/l1 0';
const asKernel = (status: string): string =>
  status.replaceAll('/dev/l0', '/dev/vda').replaceAll('/dev/l1', '/dev/vdb').replaceAll('/dev/log', '/dev/vdc');

async function onDisk(r: Rig): Promise<Buffer> {
  const b = Buffer.alloc(1536);
  await r.dev('/dev/log').inner.read(0, b);
  return b;
}

describe('disk log activation', () => {
  it("LVM's in-sync log (all bits set, nr_regions 2^64-1) keeps every bit: 100% at once", async () => {
    const r = rig();
    await logWith(r, 2, 2n ** 64n - 1n, 0xff);
    const m = await r.create('m', TABLE);
    await quiesce(r, m);
    const k = kernel.get('lvm-insync')!;
    expect(asKernel(m.status('info'))).toBe(k.status);
    expect(r.eventNr.get('m')).toBe(k.events);
    expect(await logSummary(r.dev('/dev/log').inner)).toBe(k.log);
    const b = await onDisk(r);
    expect(b.readBigUInt64LE(8)).toBe(32n); // the header now says how many regions there are
    expect(b.subarray(1024, 1032)).toEqual(Buffer.from([0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0])); // bits past 32 cleared
    expect(b.subarray(1032, 1536)).toEqual(Buffer.alloc(504, 0xff)); // rest of the buffer as read
    expect(b.subarray(16, 1024)).toEqual(Buffer.alloc(1008, 0x5c));
    await m.destroy();
  });

  it("LVM's resync log (all bits clear) resyncs everything", async () => {
    const r = rig();
    await logWith(r, 2, 2n ** 64n - 1n, 0x00);
    const m = await r.create('m', TABLE);
    expect(syncRatio(m)[0]).toBe(0);
    const k = kernel.get('lvm-resync')!;
    expect(k.status).toMatch(/^2 \/dev\/vda \/dev\/vdb [01]\/32 1 AA 3 disk \/dev\/vdc A$/);
    expect((await logSummary(r.dev('/dev/log').inner)).slice(0, 32)).toBe(k.log!.slice(0, 32));
    await m.destroy();
  });

  it('a version 1 log is read as version 2 and written back as 2', async () => {
    const r = rig();
    await logWith(r, 1, 32n, 0xff);
    const m = await r.create('m', TABLE);
    await quiesce(r, m);
    const k = kernel.get('version1')!;
    expect(asKernel(m.status('info'))).toBe(k.status);
    expect(r.eventNr.get('m')).toBe(k.events);
    expect(await logSummary(r.dev('/dev/log').inner)).toBe(k.log);
    await m.destroy();
  });

  it('an incompatible version fails the log (D): every region is out of sync', async () => {
    const r = rig();
    await logWith(r, 3, 32n, 0xff);
    const m = await r.create('m', TABLE);
    expect(syncRatio(m)[0]).toBe(0);
    expect(m.status('info')).toMatch(/ 3 disk \/dev\/log D$/);
    const k = kernel.get('version3')!;
    expect(k.status).toMatch(/ [01]\/32 1 AA 3 disk \/dev\/vdc D$/);
    expect(r.eventNr.get('m')).toBe(k.events);
    expect((await logSummary(r.dev('/dev/log').inner)).slice(0, 32)).toBe(k.log!.slice(0, 32)); // version 3 kept
    await m.destroy();
  });

  it('refuses a log device smaller than the buffer, naming the size needed', async () => {
    const r = rig();
    r.add('/dev/tiny', 2);
    await expect(
      mirrorTargetType.create(r.context('m', LEN), 'disk 2 /dev/tiny 128 2 /dev/l0 0 /dev/l1 0'.split(' ')),
    ).rejects.toMatchObject({
      code: 'EINVAL',
      message: 'Error creating mirror dirty log',
      detail: 'log device /dev/tiny too small: need 1536 bytes',
    });
  });
});
