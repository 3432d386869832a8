// A snapshot over an origin whose device fails outright (its table becomes `error`), against what Linux 6.1
// did in fixtures/snapshot/jobs/origin-read-error.sh (fixtures/snapshot/kernel/origin-read-error.txt).
// The rule: only a copy-out whose read of the origin fails invalidates the snapshot. A write that reaches
// snapshot-origin, or a snapshot write of part of a chunk, needs that copy: Invalid. A snapshot read of a chunk
// still on the origin fails with EIO and leaves the snapshot valid, and a snapshot write of a whole chunk goes
// to the COW without reading the origin. A write that never reaches device-mapper changes nothing: busybox
// `dd bs=512 oflag=direct` falls back to a buffered write (its buffer is not aligned), whose page-cache read of
// the 4 KiB page fails first; that is why the fault matrix's origin=error cells stay valid.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/base/events.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { FIXTURES } from './support/rig.js';

const N = 1024;
const PAGE = 4096;

/** The kernel's transcript: per case, its dd exit codes and the snapshot's final status line. */
function kernelCases(): Map<string, { rcs: string[]; status: string }> {
  const cases = new Map<string, { rcs: string[]; status: string }>();
  let current: { rcs: string[]; status: string } | undefined;
  for (const line of readFileSync(`${FIXTURES}origin-read-error.txt`, 'utf8').split('\n')) {
    const m = /^CASE (\S+)/.exec(line);
    if (m) {
      current = { rcs: [], status: '' };
      cases.set(m[1]!, current);
    } else if (current && line.startsWith('  rc=')) current.rcs.push(line.trim());
    else if (current && line.startsWith('0 1024 snapshot ')) current.status = line;
  }
  return cases;
}

/** The job's machine after setup(): real (linear, then error), cowdev, origin, snap and a shifted view of one. */
async function stack(shifted: 'origin' | 'snap'): Promise<DeviceMapper> {
  const dm = new DeviceMapper({ bus: new EventBus() });
  const vda = new MemoryDevice('/dev/vda', N);
  for (let c = 0; c < 4; c++) await vda.write(c * 8, Buffer.from(`init-c${c}\n`.padEnd(PAGE, '\0'), 'latin1'));
  dm.addBackingDevice('/dev/vda', vda);
  dm.addBackingDevice('/dev/vdb', new MemoryDevice('/dev/vdb', 2048));
  await dm.create('real', `0 ${N} linear /dev/vda 0`);
  await dm.create('cowdev', '0 2048 linear /dev/vdb 0');
  await dm.create('origin', `0 ${N} snapshot-origin /dev/mapper/real`);
  await dm.suspend('origin');
  await dm.create('snap', `0 ${N} snapshot /dev/mapper/real /dev/mapper/cowdev P 8`);
  await dm.resume('origin');
  await dm.create('shift', `0 1016 linear /dev/mapper/${shifted} 4`);
  await dm.suspend('real');
  await dm.load('real', `0 ${N} error`);
  await dm.resume('real');
  return dm;
}

/** One dd: a single 4 KiB request to a mapped device; rc=0 or rc=1 as dd exited. */
async function dd(dm: DeviceMapper, name: string, op: 'read' | 'write', sector: number): Promise<string> {
  const dev = await dm.open(name);
  try {
    if (op === 'read') await dev.read(sector, Buffer.alloc(PAGE));
    else await dev.write(sector, Buffer.alloc(PAGE));
    return 'rc=0';
  } catch {
    return 'rc=1';
  } finally {
    await dev.close();
  }
}

/** busybox dd bs=512 oflag=direct: a buffered write, so the page cache reads the whole 4 KiB page first. */
async function bufferedSectorWrite(dm: DeviceMapper, name: string, sector: number): Promise<string> {
  const page = sector - (sector % 8);
  const rc = await dd(dm, name, 'read', page);
  return rc === 'rc=0' ? dd(dm, name, 'write', page) : rc;
}

const steps: Record<string, [shifted: 'origin' | 'snap', run: (dm: DeviceMapper) => Promise<string[]>]> = {
  'buffered-512': ['origin', async (dm) => [await bufferedSectorWrite(dm, 'origin', 16)]],
  'direct-chunk': ['origin', async (dm) => [await dd(dm, 'origin', 'write', 16)]],
  'direct-partial': ['origin', async (dm) => [await dd(dm, 'shift', 'write', 8)]],
  'snap-read': ['snap', async (dm) => [await dd(dm, 'snap', 'read', 16)]],
  'snap-full': ['snap', async (dm) => [await dd(dm, 'snap', 'write', 24), await dd(dm, 'snap', 'read', 24)]],
  'snap-partial': ['snap', async (dm) => [await dd(dm, 'shift', 'write', 8)]],
};

describe('snapshot over a failed origin device (Linux 6.1: only a failed copy-out invalidates)', () => {
  const kernel = kernelCases();

  it('the recording has every case', () => {
    expect([...kernel.keys()].sort()).toEqual(Object.keys(steps).sort());
  });

  for (const [name, [shifted, run]] of Object.entries(steps)) {
    it(name, async () => {
      const want = kernel.get(name)!;
      const dm = await stack(shifted);
      const rcs = await run(dm);
      const [line] = await dm.status('snap');
      expect({ rcs, status: `0 ${N} ${line!.target} ${line!.params}`.trimEnd() }).toEqual(want);
    });
  }
});
