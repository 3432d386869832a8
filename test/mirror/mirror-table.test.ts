// The mirror constructor's rules and refusals, and the normalised `table` line, replayed against what
// Linux 6.1 accepted, printed and logged (fixtures/mirror/refusals.out from jobs/refusals.sh).

import { describe, expect, it } from 'vitest';
import { mirrorTargetType } from '../../targets/mirror/mirror.js';
import { readFixture } from './support/checkpoints.js';
import { LEN, Rig, settle } from './support/harness.js';

interface Case {
  params: string;
  ok: boolean;
  /** OK: the table line after `0 4000 mirror `; FAIL: the kernel's reasons, prefixes and errno removed. */
  expect: string[];
}

function cases(): Case[] {
  const out: Case[] = [];
  for (const line of readFixture('refusals.out').split('\n')) {
    const m = /^(OK|FAIL) +(.*?) => (.*)$/.exec(line);
    if (!m) continue;
    const [, verdict, params, result] = m as unknown as [string, string, string, string];
    if (verdict === 'OK') out.push({ params, ok: true, expect: [result.replace(/^0 4000 mirror /, '')] });
    else {
      const reasons = result
        .split('|')
        .filter(Boolean)
        .map((r) => r.replace(/^(mirror|dirty region log): /, '').replace(/ \(-E[A-Z]+\)$/, ''))
        // The kernel names devices major:minor; dmsim names them as the table did.
        .map((r) => r.replace('253:0', '/dev/mapper/tiny'))
        // dmsim has no log modules to load: it names the unknown type its own way.
        .filter((r) => !r.startsWith('Module for logging type'));
      out.push({ params, ok: false, expect: reasons });
    }
  }
  return out;
}

function rig(): Rig {
  const r = new Rig();
  r.add('/dev/vda', 4096);
  r.add('/dev/vdb', 4096);
  r.add('/dev/vdc', 128);
  r.add('/dev/mapper/tiny', 2);
  return r;
}

describe('mirror table: what Linux 6.1 accepts and refuses', () => {
  const all = cases();
  it('covers the recorded tables', () => {
    expect(all.length).toBeGreaterThan(30);
    expect(all.filter((c) => c.ok).length).toBeGreaterThan(8);
  });

  for (const c of all) {
    it(`${c.ok ? 'accepts' : 'refuses'}: ${c.params}`, async () => {
      const r = rig();
      const create = mirrorTargetType.create(r.context('m', LEN), c.params.split(' ').filter(Boolean));
      if (c.ok) {
        const t = await create;
        expect(t.status('table')).toBe(c.expect[0]);
        await t.destroy();
      } else {
        const err = await create.then(
          () => null,
          (e: unknown) => e as { code: string; message: string; detail?: string },
        );
        expect(err, 'the table must be refused').not.toBeNull();
        // The kernel's ti->error is the message; what dm-log.c logged first is dmsim's detail.
        expect(err!.message).toBe(c.expect.at(-1));
        expect(err!.code).toBe(c.expect.at(-1) === 'Device lookup failure' ? 'ENODEV' : 'EINVAL');
        for (const reason of c.expect.slice(0, -1)) expect(err!.detail).toContain(reason);
      }
    });
  }

  it('a nosync mirror is in sync at once and raises no event (the first pass runs before the table is live)', async () => {
    const r = rig();
    const t = await r.create('m', 'core 2 128 nosync 2 /dev/vda 0 /dev/vdb 0');
    await settle();
    const want = readFixture('refusals.out').split('\n');
    const status = want.find((l) => l.startsWith('STATUS '))!.replace(/^STATUS 0 4000 mirror /, '');
    const events = Number(want.find((l) => l.startsWith('EVENTS '))!.slice(7));
    expect(t.status('info')).toBe(status);
    expect(r.eventNr.get('m')).toBe(events);
    await t.destroy();
  });
});
