// The session of fixtures/thin/kernel-session.sh, replayed in dmsim and compared with what 6.1 did: status
// and table lines, `dmsetup targets` before and after, the data device's bytes, the thin devices' contents,
// and the metadata as thin_dump sees it. Then the kernel's own images are activated in dmsim.

import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { describe, expect, test } from 'vitest';
import { Lab } from '../snapshot/support/dm.js';
import { hasThinTools, imageOf, thinCheck, thinDump } from './thin-tools.js';

const FIXTURES = new URL('../../fixtures/thin/', import.meta.url);
const kernelOut = readFileSync(new URL('kernel-session.out', FIXTURES), 'utf8');
const kernelMeta = gunzipSync(readFileSync(new URL('kernel-session.meta.img.gz', FIXTURES)));
const kernelData = gunzipSync(readFileSync(new URL('kernel-session.data.img.gz', FIXTURES)));

/** The lines of a `--- name` section of the kernel's output. */
function section(name: string, nth = 0): string[] {
  const parts = kernelOut.split(`--- ${name}\n`);
  return parts[nth + 1]!.split('\n--- ')[0]!
    .split('\n')
    .filter((l) => l && !/^(write|md5|---)/.test(l));
}

function pat(tag: string, len: number): Buffer {
  let s = tag;
  while (s.length < len) s += s;
  return Buffer.from(s.slice(0, len));
}

const md5 = (b: Buffer): string => createHash('md5').update(b).digest('hex');

/** `dmsetup status` / `table` lines in the kernel's form (its devices are 254:0, 254:16 and pool 253:0). */
async function lines(lab: Lab, kind: 'status' | 'table'): Promise<string[]> {
  const all = kind === 'status' ? await lab.dm.status() : await lab.dm.table();
  return all
    .map((l) => `${l.name}: ${l.start} ${l.length} ${l.target} ${l.params}`)
    .map((l) => l.replaceAll('meta ', '254:0 ').replaceAll('data ', '254:16 ').replaceAll('/dev/mapper/pool', '253:0'))
    .sort();
}

function targetList(lab: Lab): string[] {
  return lab.dm.targets().map((t) => `${t.name.padEnd(16)} v${t.version.join('.')}`);
}

describe('the kernel session replayed in dmsim', () => {
  test('status and table lines, targets, data bytes, thin contents and thin_dump match 6.1', async () => {
    const lab = new Lab();
    const meta = await lab.disk('meta', 8192);
    const data = await lab.disk('data', 32768);
    expect(targetList(lab)).toEqual(section('targets before').filter((l) => !l.startsWith('striped')));
    await lab.dm.create('pool', '0 32768 thin-pool meta data 128 4');
    expect(targetList(lab)).toEqual(section('targets after').filter((l) => !l.startsWith('striped')));
    await lab.dm.message('pool', 0, ['create_thin', '0']);
    await lab.dm.create('thin0', '0 8192 thin /dev/mapper/pool 0');
    await lab.write('thin0', 0, pat('A-full-block-0.', 65536));
    await lab.write('thin0', (3 * 65536 + 4096) / 512, pat('B-4k-in-block-3', 4096));
    await lab.write('thin0', (9 * 65536 + 61440) / 512, pat('C-tail-block-9.', 4096));
    expect(await lines(lab, 'table')).toEqual(section('table', 0));
    expect(await lines(lab, 'status')).toEqual(section('status', 0));
    await lab.dm.suspend('thin0');
    await lab.dm.message('pool', 0, ['create_snap', '1', '0']);
    await lab.dm.resume('thin0');
    await lab.dm.create('thin1', '0 8192 thin /dev/mapper/pool 1');
    await lab.write('thin1', (3 * 65536) / 512, pat('D-thin1-block-3', 4096));
    await lab.write('thin1', (5 * 65536) / 512, pat('E-thin1-block-5', 8192));
    await lab.write('thin0', 0, pat('F-thin0-block-0', 4096));
    await lab.dm.message('pool', 0, ['set_transaction_id', '0', '5']);
    expect(await lines(lab, 'table')).toEqual(section('table', 1));
    expect(await lines(lab, 'status')).toEqual(section('status', 1));
    for (const d of ['thin0', 'thin1']) {
      const want = new RegExp(`md5 ${d} (\\w+)`).exec(kernelOut)![1];
      expect(md5(await lab.readAll(d)), d).toBe(want);
    }
    await lab.dm.remove('thin1');
    await lab.dm.remove('thin0');
    await lab.dm.remove('pool');
    const dataBytes = Buffer.alloc(32768 * 512);
    await data.read(0, dataBytes);
    expect(dataBytes.equals(kernelData)).toBe(true);
    if (hasThinTools) {
      const mine = await imageOf(meta);
      expect(thinCheck(mine).status).toBe(0);
      const theirs = mine.replace(/meta\.img$/, 'kernel.img');
      writeFileSync(theirs, kernelMeta);
      expect(thinDump(mine)).toEqual(thinDump(theirs));
    }
  });
});

describe('metadata and data the kernel wrote, activated in dmsim', () => {
  test('the devices show the same status and contents as on 6.1', async () => {
    const lab = new Lab();
    await lab.disk('meta', 8192, kernelMeta);
    await lab.disk('data', 32768, kernelData);
    await lab.dm.create('pool', '0 32768 thin-pool meta data 128 4');
    await lab.dm.create('thin0', '0 8192 thin /dev/mapper/pool 0');
    await lab.dm.create('thin1', '0 8192 thin /dev/mapper/pool 1');
    expect(await lines(lab, 'status')).toEqual(section('status', 1));
    for (const d of ['thin0', 'thin1']) {
      const want = new RegExp(`md5 ${d} (\\w+)`).exec(kernelOut)![1];
      expect(md5(await lab.readAll(d)), d).toBe(want);
    }
  });
});
