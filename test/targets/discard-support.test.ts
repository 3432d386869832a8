// Discard support of every target against Linux 6.1: fixtures/discard/discard.out is what the kernel oracle
// printed for each table (the queue's discard_max_bytes, discard_max_hw_bytes and discard_granularity, and what
// blkdiscard of the whole device returned), made by fixtures/discard/jobs/discard.sh. The same tables are built
// here over in-memory disks of the oracle's size, which report the oracle's virtio disks' limits.

import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/base/events.js';
import { discardLimitsOf } from '../../src/block/block-device.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { outcome } from './helpers.js';

const N = 16384;
const DISKS = ['/dev/vda', '/dev/vdb', '/dev/vdc', '/dev/vdd'];
/** The devices the job's stacked cases name, with the tables the job gave them. */
const LOWER: Record<string, string> = {
  nod: `0 ${N} snapshot-origin /dev/vdd`,
  z: `0 ${N} zero`,
  e: `0 ${N} error`,
  l: `0 ${N} linear /dev/vda 0`,
  s: `0 ${N} snapshot /dev/vda /dev/vdb P 16 1 discard_zeroes_cow`,
};

interface KernelCase {
  name: string;
  lines: Map<string, string[]>;
}

/** The recording as `### name` blocks, each a map from a line's label (`table`, `limits`, ...) to its values. */
function recording(): KernelCase[] {
  const text = readFileSync(fileURLToPath(new URL('../../fixtures/discard/discard.out', import.meta.url)), 'utf8');
  const cases: KernelCase[] = [];
  for (const line of text.split('\n')) {
    if (line.startsWith('### ')) cases.push({ name: line.slice(4), lines: new Map() });
    const m = /^([A-Za-z0-9-]+): *(.*)$/.exec(line);
    const current = cases[cases.length - 1];
    if (!m || !current) continue;
    current.lines.set(m[1]!, [...(current.lines.get(m[1]!) ?? []), m[2]!]);
  }
  return cases;
}

const kernel = recording();
const byName = (name: string): KernelCase => {
  const c = kernel.find((k) => k.name === name || k.name.startsWith(`${name} `));
  if (!c) throw new Error(`fixtures/discard/discard.out has no case "${name}"`);
  return c;
};
const only = (c: KernelCase, label: string): string => {
  const v = c.lines.get(label);
  if (v?.length !== 1) throw new Error(`case "${c.name}": expected one "${label}" line, got ${v?.length ?? 0}`);
  return v[0]!;
};

/** A fresh DeviceMapper over four 8 MiB in-memory disks named as the oracle's. */
function lab(): { dm: DeviceMapper; disks: Record<string, MemoryDevice> } {
  const dm = new DeviceMapper({ bus: new EventBus() });
  const disks: Record<string, MemoryDevice> = {};
  for (const name of DISKS) {
    disks[name] = new MemoryDevice(name, N);
    dm.addBackingDevice(name, disks[name]);
  }
  return { dm, disks };
}

/** `max=B hw=B gran=B` (the recording's limits line) for a dmsim device. */
function limitsLine(dev: { discardLimits?: MemoryDevice['discardLimits'] }): string {
  const l = discardLimitsOf(dev);
  return `max=${l.maxSectors * 512} hw=${l.maxHwSectors * 512} gran=${l.granularity}`;
}

async function limitsOf(dm: DeviceMapper, name: string): Promise<string> {
  const dev = await dm.open(name);
  await dev.close();
  return limitsLine(dev);
}

/** blkdiscard's answer as the job printed it: rc=0, or rc=1 with the strerror text for the code. */
async function blkdiscard(dm: DeviceMapper, name: string): Promise<string> {
  const dev = await dm.open(name);
  try {
    const r = await outcome(dev.discard(0, dev.sizeSectors));
    if (r === 'ok') return 'rc=0';
    const text = r === 'EOPNOTSUPP' ? 'Operation not supported' : r;
    return `rc=1 blkdiscard: /dev/mapper/${name}: BLKDISCARD failed: ${text}`;
  } finally {
    await dev.close();
  }
}

async function statusLine(dm: DeviceMapper, name: string): Promise<string> {
  const [l] = await dm.status(name);
  return `${l!.start} ${l!.length} ${l!.target} ${l!.params}`;
}

async function md5Of(dm: DeviceMapper, name: string, sector: number): Promise<string> {
  const dev = await dm.open(name);
  const buf = Buffer.alloc(4096);
  await dev.read(sector, buf);
  await dev.close();
  return createHash('md5').update(buf).digest('hex');
}

/** The cases made by the job's `one`: a table, its limits and blkdiscard's answer. */
const tableCases = kernel.filter((k) => k.lines.has('table') && k.lines.has('blkdiscard'));

describe('discard support per target, as Linux 6.1', () => {
  it('the recording has every target and the cases this test knows how to build', () => {
    expect(tableCases.length).toBeGreaterThanOrEqual(25);
    const types = new Set(tableCases.flatMap((c) => c.lines.get('table')!.map((t) => t.split(' ')[2])));
    const all = [
      'linear',
      'zero',
      'error',
      'flakey',
      'delay',
      'mirror',
      'snapshot',
      'snapshot-origin',
      'snapshot-merge',
    ];
    for (const t of all) expect(types).toContain(t);
  });

  it('a file or in-memory disk reports what the oracle virtio disks report', () => {
    expect(limitsLine(new MemoryDevice('d', N))).toBe(only(byName('disk vda'), 'limits'));
  });

  it.each(tableCases.map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const { dm, disks } = lab();
    const table = c.lines.get('table')!.join('\n');
    // Each case starts with a fresh COW header on vdb, as the job wipes it.
    await disks['/dev/vdb']!.write(0, Buffer.alloc(4096));
    for (const [lower, lowerTable] of Object.entries(LOWER)) {
      if (table.includes(`/dev/mapper/${lower} `)) await dm.create(lower, lowerTable);
    }
    if (table.includes('/dev/mapper/nod ')) expect(await limitsOf(dm, 'nod')).toBe(only(byName('nod'), 'limits'));
    await dm.create('dev', table);
    expect(await limitsOf(dm, 'dev')).toBe(only(c, 'limits'));
    expect((await blkdiscard(dm, 'dev')).replace('/dev/mapper/dev:', `/dev/mapper/${c.name}:`)).toBe(
      only(c, 'blkdiscard'),
    );
    await dm.close();
  });

  it('a discard to an origin is refused and its snapshot stays as it was (no copy-out, no Invalid)', async () => {
    const c = byName('origin with a snapshot');
    const { dm } = lab();
    await dm.create('snap', `0 ${N} snapshot /dev/vda /dev/vdb P 8`);
    await dm.create('origin', `0 ${N} snapshot-origin /dev/vda`);
    expect(`before: ${await statusLine(dm, 'snap')}`).toBe(`before: ${only(c, 'before')}`);
    expect(await limitsOf(dm, 'origin')).toBe(only(c, 'limits'));
    expect(await blkdiscard(dm, 'origin')).toBe(only(c, 'blkdiscard'));
    expect(`after: ${await statusLine(dm, 'snap')}`).toBe(`after: ${only(c, 'after')}`);
    await dm.close();
  });

  it('discard_zeroes_cow zeroes a chunk that has an exception and leaves the others to the origin', async () => {
    const c = byName('snapshot-zeroes-cow after a write');
    const { dm, disks } = lab();
    await disks['/dev/vda']!.write(8, Buffer.alloc(4096, 'A'));
    await dm.create('snap', `0 ${N} snapshot /dev/vda /dev/vdb P 8 1 discard_zeroes_cow`);
    const snap = await dm.open('snap');
    await snap.write(0, Buffer.alloc(4096, 'S'));
    await snap.close();
    expect(await statusLine(dm, 'snap')).toBe(only(c, 'before'));
    expect(await blkdiscard(dm, 'snap')).toBe(only(c, 'blkdiscard'));
    expect(await statusLine(dm, 'snap')).toBe(only(c, 'after'));
    expect(await md5Of(dm, 'snap', 0)).toBe(only(c, 'chunk0'));
    expect(await md5Of(dm, 'snap', 8)).toBe(only(c, 'chunk1'));
    // What those sums are: zeros, and the origin's page.
    expect(only(c, 'chunk0')).toBe(only(c, 'zeros'));
    expect(only(c, 'chunk1')).toBe(only(c, 'A-page'));
    await dm.close();
  });
});
