// Constructor rules against Linux 6.1 (fixtures/snapshot/jobs/ctr.sh -> kernel/ctr.txt): dmsim accepts exactly
// the tables the kernel accepted, prints the same normalised table and status, and refuses the others with the
// kernel's reason (6.1 often says only "Couldn't create exception store"; dmsim adds the precise cause).

import { describe, expect, it } from 'vitest';
import { mergeTargetType } from '../../targets/snapshot/merge.js';
import { snapshotTargetType } from '../../targets/snapshot/snapshot.js';
import { Lab } from './support/dm.js';
import { cowImage } from './support/pattern.js';
import { fixtureText, Rig } from './support/rig.js';

interface Outcome {
  table: string;
  ok: boolean;
  /** ok: "<table line> | <status>" with devices by name; refused: the kernel's ti->error text. */
  detail: string;
}

const NAMES: Record<string, string> = { '254:0': '/dev/vda', '254:16': '/dev/vdb', '254:32': '/dev/vdc' };

function kernelOutcomes(): Outcome[] {
  const out: Outcome[] = [];
  for (const line of fixtureText('ctr.txt').split('\n')) {
    const ok = /^ok \[(.*)\] -> \S+ (.*)$/.exec(line);
    if (ok) {
      const [tableLine, status] = ok[2]!.split(' | ') as [string, string];
      const named = tableLine.replace(/\b254:(0|16|32)\b/g, (m) => NAMES[m]!);
      out.push({ table: ok[1]!, ok: true, detail: `${named} | ${status.replace(/^\S+ ?/, '')}` });
      continue;
    }
    const bad = /^refused \[(.*)\]: (.*)$/.exec(line);
    if (bad) {
      const reason =
        /table \d+:\d+: snapshot(?:-origin)?: (.*?) \(-E/.exec(bad[2]!)?.[1] ??
        /too small for target/.exec(bad[2]!)?.[0] ??
        bad[2]!;
      out.push({ table: bad[1]!, ok: false, detail: reason });
    }
  }
  return out;
}

function header(magic: number, valid: number, version: number, chunk: number): Buffer {
  const b = Buffer.alloc(512);
  for (const [i, v] of [magic, valid, version, chunk].entries()) b.writeUInt32LE(v >>> 0, i * 4);
  return b;
}

describe('snapshot and snapshot-origin constructors (ctr.sh)', () => {
  it('accept and refuse exactly the tables 6.1 does, with its table lines, status and reasons', async () => {
    const lab = new Lab();
    await lab.disk('/dev/vda', 2048);
    await lab.disk('/dev/vdb', 2048, cowImage(2048));
    const vdc = await lab.disk('/dev/vdc', 64, cowImage(64));
    // Device changes the job makes between tables, keyed by the index of the next table.
    const zero16 = () => vdc.write(0, Buffer.alloc(16 * 512));
    const before: Record<number, () => Promise<void>> = {
      34: zero16,
      36: () => vdc.write(0, header(0x70416e53, 1, 1, 64)),
      37: () => vdc.write(0, header(0x70416e53, 1, 1, 12)),
      38: () => vdc.write(0, header(0x12345678, 1, 1, 8)),
      39: () => vdc.write(0, header(0x70416e53, 1, 2, 8)),
      40: () => vdc.write(0, header(0x70416e53, 0, 1, 8)),
      41: () => vdc.write(0, header(0x70416e53, 0, 1, 8)),
      42: zero16,
    };
    const expected = kernelOutcomes();
    expect(expected.length).toBe(43);
    for (const [i, k] of expected.entries()) {
      await before[i]?.();
      const result = await lab.dm.create('t', k.table).then(
        async () => {
          const line = `${await lab.table('t')} | ${await lab.status('t')}`;
          await lab.dm.remove('t');
          return { ok: true, detail: line };
        },
        (e: Error) => ({ ok: false, detail: e.message }),
      );
      expect({ table: k.table, ok: result.ok }).toEqual({ table: k.table, ok: k.ok });
      if (k.ok) expect(result.detail, k.table).toBe(k.detail);
      else expect(result.detail, k.table).toContain(k.detail);
    }
    await lab.dm.close();
  });

  it('refuses snapshot-merge over a transient store (6.1 accepts it and oopses on resume)', async () => {
    const rig = new Rig();
    await rig.memory('/dev/vda', 2048);
    await rig.memory('/dev/vdb', 2048);
    await expect(
      mergeTargetType.create(rig.context('m', 2048), ['/dev/vda', '/dev/vdb', 'N', '8']),
    ).rejects.toMatchObject({
      code: 'EINVAL',
      message: expect.stringContaining('does not support snapshot-merge'),
    });
  });

  it('refuses a third table on one COW, and a second merging snapshot of one origin', async () => {
    const rig = new Rig();
    await rig.memory('/dev/vda', 2048);
    await rig.memory('/dev/vdb', 2048, cowImage(2048));
    await rig.memory('/dev/vdc', 2048, cowImage(2048));
    const src = await rig.create(snapshotTargetType, 'src', 2048, ['/dev/vda', '/dev/vdb', 'P', '8']);
    await src.target.resume?.();
    const dest = await rig.create(snapshotTargetType, 'dest', 2048, ['/dev/vda', '/dev/vdb', 'P', '8']);
    await expect(
      snapshotTargetType.create(rig.context('third', 2048), ['/dev/vda', '/dev/vdb', 'P', '8']),
    ).rejects.toThrow('Snapshot cow pairing for exception table handover failed');
    // The destination cannot take over while the source runs.
    await expect(dest.target.preresume!()).rejects.toThrow(
      'Unable to perform snapshot handover until source is suspended',
    );
    const other = await rig.create(snapshotTargetType, 'other', 2048, ['/dev/vda', '/dev/vdc', 'P', '8']);
    await other.target.resume?.();
    const merge1 = await rig.create(mergeTargetType, 'm1', 2048, ['/dev/vda', '/dev/vdc', 'P', '8']);
    expect(merge1.target.status('table')).toBe('/dev/vda /dev/vdc P 0');
    await expect(mergeTargetType.create(rig.context('m2', 2048), ['/dev/vda', '/dev/vdb', 'P', '8'])).rejects.toThrow(
      'Snapshot cow pairing',
    );
  });
});
