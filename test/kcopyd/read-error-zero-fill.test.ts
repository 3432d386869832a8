// What a failed read leaves in the destination, against the real kernel: the oracle ran fixtures/kcopyd/*.sh
// (dm-mirror resync over a leg with dm-error holes: one kcopyd job per 4096-sector region, 1024-sector
// sub-jobs, IGNORE_ERROR unless the table says handle_errors) and recorded the other leg as sector runs.

import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/base/events.js';
import { KcopydEngine } from '../../src/kcopyd/engine.js';
import { FaultyDevice } from './fault-devices.js';
import { sectorRuns } from './sector-runs.js';

const fixtures = new URL('../../fixtures/kcopyd/', import.meta.url);
const SECTORS = 8192;
const REGION = 4096;

/** The error holes of the job's leg0 table: its "START LEN error" lines. */
async function holes(job: string): Promise<number[]> {
  const script = await readFile(new URL(`${job}.sh`, fixtures), 'utf8');
  const bad: number[] = [];
  for (const m of script.matchAll(/^(\d+) (\d+) error$/gm)) {
    for (let s = Number(m[1]); s < Number(m[1]) + Number(m[2]); s++) bad.push(s);
  }
  return bad;
}

describe.each(['read-error-zero-fill', 'read-error-two-holes', 'read-error-no-ignore'])('%s', (job) => {
  it('leaves the destination exactly as the kernel did', async () => {
    const bad = await holes(job);
    // dm-raid1 recover(): IGNORE_ERROR unless errors are handled
    const flags = { ignoreError: !/ 1 handle_errors"$/m.test(await readFile(new URL(`${job}.sh`, fixtures), 'utf8')) };
    expect(bad.length).toBeGreaterThan(0);
    const leg0 = new FaultyDevice('leg0', SECTORS);
    const leg1 = new FaultyDevice('leg1', SECTORS);
    await leg0.mem.write(0, Buffer.alloc(SECTORS * 512, 0x55));
    await leg1.mem.write(0, Buffer.alloc(SECTORS * 512, 0xaa));
    for (const s of bad) leg0.badReads.add(s);
    const engine = new KcopydEngine({ bus: new EventBus() }); // default 1024-sector sub-jobs, as kcopyd_subjob_size_kb=512
    const client = engine.createClient({ owner: 'mirror' });
    for (let region = 0; region < SECTORS; region += REGION) {
      const r = await client.copyAsync(
        { bdev: leg0, sector: region, count: REGION },
        [{ bdev: leg1, sector: region, count: REGION }],
        flags,
      );
      expect(r.writeErr).toBe(0);
      expect(r.readErr).toBe(bad.some((s) => s >= region && s < region + REGION));
    }
    await client.destroy();
    const kernel = (await readFile(new URL(`${job}.runs`, fixtures), 'utf8')).trim().split('\n');
    expect(sectorRuns(await leg1.bytes())).toEqual(kernel);
  });
});
