// The old-log footgun (targets/mirror/log-legs.ts): a mirror table that reuses a disk log with a leg the log has
// never described trusts the log's in-sync bits, so the new leg is never resynced (the kernel does the same,
// silently: status says in sync over a leg of zeros). dmsim emits a dm.warning; a fresh log resyncs the new leg.

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { DmEvent } from '../../src/base/events.js';
import { ControlClient } from '../../src/control/client.js';
import { ControlDaemon } from '../../src/control/daemon.js';
import { type Testbed, withTestbed } from '../../src/testing/testbed.js';

const S = 2048;

function warnings(tb: Testbed): string[] {
  const seen: string[] = [];
  tb.bus.on((e: DmEvent) => {
    if (e.type === 'dm.warning') seen.push(`${e.device} ${e.kind}: ${e.message}`);
  });
  return seen;
}

/** A two-leg mirror with a disk log over image files, written and in sync, then removed. */
async function oldMirror(tb: Testbed): Promise<{ a: string; b: string; log: string }> {
  const [a, b, log] = [
    await tb.image('a.img', `${S}s`),
    await tb.image('b.img', `${S}s`),
    await tb.image('log.img', '8s'),
  ];
  await tb.dm.create('m', `0 ${S} mirror disk 2 ${log} 128 2 ${a} 0 ${b} 0`);
  await tb.waitFor('m', 'sync', { timeoutMs: 60_000 });
  const h = await tb.open('m');
  await h.write(0, Buffer.alloc(S * 512, 0x5a));
  await h.close();
  await tb.dm.remove('m');
  return { a, b, log };
}

async function readFileDevice(tb: Testbed, path: string): Promise<Buffer> {
  await tb.dm.create('peek', `0 ${S} linear ${path} 0`);
  const h = await tb.open('peek');
  const buf = Buffer.alloc(S * 512);
  await h.read(0, buf);
  await h.close();
  await tb.dm.remove('peek');
  return buf;
}

describe('mirror: a disk log reused with a new leg', () => {
  it('warns, and the kernel behaviour it warns about holds: in sync over a leg of zeros', async () => {
    await withTestbed(async (tb) => {
      const { a, log } = await oldMirror(tb);
      const seen = warnings(tb);
      const c = await tb.image('c.img', `${S}s`);
      await tb.dm.create('m', `0 ${S} mirror disk 2 ${log} 128 2 ${a} 0 ${c} 0`);
      expect(seen).toEqual([
        `m mirror-log-reused: m: the disk log ${log} was last used with other legs and will not resync ${c}: its in-sync bits describe the old legs (the kernel does the same, silently). To copy onto a new leg, use a fresh zeroed log or add "sync" after the region size.`,
      ]);
      const [status] = await tb.dm.status('m');
      expect(status!.params).toBe(`2 ${a} ${c} 16/16 1 AA 3 disk ${log} A`);
      await tb.dm.remove('m');
      expect((await readFileDevice(tb, c)).equals(Buffer.alloc(S * 512))).toBe(true);
    });
  });

  it('a file made again under the same path is a new leg', async () => {
    await withTestbed(async (tb) => {
      const { a, b, log } = await oldMirror(tb);
      const seen = warnings(tb);
      await rm(b);
      await tb.image('b.img', `${S}s`);
      await tb.dm.create('m', `0 ${S} mirror disk 2 ${log} 128 2 ${a} 0 ${b} 0`);
      expect(seen).toHaveLength(1);
      expect(seen[0]).toContain(`will not resync ${b}`);
    });
  });

  it('stays quiet for the same legs, a dropped leg, an explicit sync, and a fresh log (which resyncs the new leg)', async () => {
    await withTestbed(async (tb) => {
      const { a, b, log } = await oldMirror(tb);
      const seen = warnings(tb);
      await tb.dm.create('m', `0 ${S} mirror disk 2 ${log} 128 2 ${b} 0 ${a} 0`);
      await tb.dm.remove('m');
      const c = await tb.image('c.img', `${S}s`);
      await tb.dm.create('m', `0 ${S} mirror disk 3 ${log} 128 sync 2 ${a} 0 ${c} 0`);
      await tb.dm.remove('m');
      // README: replace a leg with a fresh (zeroed) log: every region starts out of sync and is copied.
      const d = await tb.image('d.img', `${S}s`);
      const fresh = await tb.image('fresh-log.img', '8s');
      await tb.dm.create('m', `0 ${S} mirror disk 2 ${fresh} 128 2 ${a} 0 ${d} 0`);
      await tb.waitFor('m', 'sync', { timeoutMs: 60_000 });
      await tb.dm.remove('m');
      expect(seen).toEqual([]);
      expect((await readFileDevice(tb, d)).equals(Buffer.alloc(S * 512, 0x5a))).toBe(true);
    });
  });

  it('a client of the daemon gets the warning with the reply to its load', async () => {
    await withTestbed(async (tb) => {
      const { a, log } = await oldMirror(tb);
      const c = await tb.image('c.img', `${S}s`);
      const daemon = new ControlDaemon({ engine: tb.dm, bus: tb.bus, version: 'test' });
      await daemon.listen(join(tb.dir, 'control'));
      const client = await ControlClient.connect(join(tb.dir, 'control'));
      const got: string[] = [];
      client.onWarning = (m) => got.push(m);
      try {
        await client.request('create', { name: 'm', table: '', notable: true }); // a load, as lvconvert --repair does
        await client.request('load', { name: 'm', table: `0 ${S} mirror disk 2 ${log} 128 2 ${a} 0 ${c} 0` });
        expect(got).toHaveLength(1);
        expect(got[0]).toContain(`will not resync ${c}`);
        await client.request('create', { name: 'other', table: `0 ${S} zero` });
        expect(got).toHaveLength(1);
      } finally {
        client.close();
        await daemon.close();
      }
    });
  });
});
