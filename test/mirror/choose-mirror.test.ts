// choose_mirror is not round-robin: reads go to the default leg while it is healthy, otherwise to the first
// healthy leg walking DOWN from it (wrapping from leg 0 to the last); a failed read is retried there; with
// no healthy leg left the read fails. Legs are told apart by giving each different bytes behind the mirror.

import { describe, expect, it } from 'vitest';
import { Rig, readMirror, waitForSync } from './support/harness.js';

const LEN = 512;

async function threeLegs(): Promise<{ rig: Rig; m: Awaited<ReturnType<Rig['create']>> }> {
  const rig = new Rig();
  for (const l of ['/dev/a', '/dev/b', '/dev/c']) rig.add(l, LEN);
  const m = await rig.create('m', 'core 1 64 3 /dev/a 0 /dev/b 0 /dev/c 0', LEN);
  await waitForSync(m);
  // Now make the legs differ at sector 7, so a read shows which leg served it.
  await rig.dev('/dev/a').inner.write(7, Buffer.alloc(512, 0xa0));
  await rig.dev('/dev/b').inner.write(7, Buffer.alloc(512, 0xb0));
  await rig.dev('/dev/c').inner.write(7, Buffer.alloc(512, 0xc0));
  return { rig, m };
}

const served = async (m: Awaited<ReturnType<Rig['create']>>): Promise<number> => (await readMirror(m, 7))[0]!;

describe('choose_mirror', () => {
  it('reads the default leg while it is healthy', async () => {
    const { m } = await threeLegs();
    expect(await served(m)).toBe(0xa0);
    expect(await served(m)).toBe(0xa0); // not round-robin
  });

  it('walks down from the default, wrapping to the last leg, and retries a failed read there', async () => {
    const { rig, m } = await threeLegs();
    rig.dev('/dev/a').failReads = true;
    expect(await served(m)).toBe(0xc0); // leg 0 fails, the walk goes 0 -> 2
    expect(m.status('info')).toMatch(/ 8\/8 1 RAA 1 core$/);
    rig.dev('/dev/c').failReads = true;
    expect(await served(m)).toBe(0xb0); // 0 and 2 failed: 1
    expect(m.status('info')).toMatch(/ 8\/8 1 RAR 1 core$/);
    rig.dev('/dev/b').failReads = true;
    await expect(readMirror(m, 7)).rejects.toMatchObject({ code: 'EIO' });
    expect(m.status('info')).toMatch(/ 8\/8 1 RRR 1 core$/);
  });
});
