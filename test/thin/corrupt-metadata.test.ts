// A flipped byte in a metadata block: the superblock, a btree node (the mapping tree's root) and a space-map
// block (the metadata space map's bitmap index). dmsim refuses with an EILSEQ error naming the validator and
// the block, as dm_bm_validate_buffer's "%s validator check failed for block %llu" does, and never crashes;
// thin_check rejects the same image, so both agree it is corrupt.

import { describe, expect, it } from 'vitest';
import type { MemoryDevice } from '../../src/block/memory-device.js';
import { decodeSmRoot } from '../../src/persistent-data/sm-root.js';
import { decodeSuperblock } from '../../targets/thin/superblock.js';
import { Lab } from '../snapshot/support/dm.js';
import { hasThinTools, imageOf, thinCheck } from './thin-tools.js';

const B = 128;

/** A pool with thin 0 holding three written blocks, cleanly shut down; the metadata disk and its block numbers. */
async function cleanPool() {
  const lab = new Lab();
  const meta = await lab.disk('meta', 8192);
  await lab.disk('data', 8192);
  await lab.dm.create('pool', '0 8192 thin-pool meta data 128 0');
  await lab.dm.message('pool', 0, ['create_thin', '0']);
  await lab.dm.create('t', '0 8192 thin /dev/mapper/pool 0');
  for (const b of [0, 1, 5]) await lab.write('t', b * B, Buffer.alloc(B * 512, 0x40 + b));
  await lab.dm.remove('t');
  await lab.dm.remove('pool');
  const sb = Buffer.alloc(4096);
  await meta.read(0, sb);
  const s = decodeSuperblock(sb);
  return {
    lab,
    meta,
    blocks: { mappingRoot: s.mappingRoot, metadataIndex: decodeSmRoot(s.metadataSmRoot).bitmapRoot },
  };
}

async function flip(meta: MemoryDevice, block: number, offset: number): Promise<void> {
  const buf = Buffer.alloc(4096);
  await meta.read(block * 8, buf);
  buf[offset]! ^= 0xff;
  await meta.write(block * 8, buf);
}

async function expectThinCheckFails(meta: MemoryDevice): Promise<void> {
  if (hasThinTools) expect(thinCheck(await imageOf(meta)).status).not.toBe(0);
}

describe('a corrupted metadata block is refused, naming the block', () => {
  it('superblock: the pool table is refused (Error creating metadata object, EILSEQ, block 0)', async () => {
    const { lab, meta } = await cleanPool();
    await flip(meta, 0, 40);
    const refusal = lab.dm.create('pool', '0 8192 thin-pool meta data 128 0');
    await expect(refusal).rejects.toMatchObject({ code: 'EILSEQ' });
    await expect(refusal).rejects.toThrow(
      /Error creating metadata object.*superblock validator check failed for block 0/,
    );
    expect(lab.dm.ls()).toEqual([]);
    await expectThinCheckFails(meta);
  });

  it('space-map block: the pool table is refused, naming the metadata space map index block', async () => {
    const { lab, meta, blocks } = await cleanPool();
    await flip(meta, blocks.metadataIndex, 100);
    const refusal = lab.dm.create('pool', '0 8192 thin-pool meta data 128 0');
    await expect(refusal).rejects.toMatchObject({ code: 'EILSEQ' });
    await expect(refusal).rejects.toThrow(new RegExp(`validator check failed for block ${blocks.metadataIndex}\\b`));
    await expectThinCheckFails(meta);
  });

  it('btree node: the pool activates, I/O to the thin device fails with EILSEQ naming the node', async () => {
    const { lab, meta, blocks } = await cleanPool();
    await flip(meta, blocks.mappingRoot, 100);
    await lab.dm.create('pool', '0 8192 thin-pool meta data 128 0');
    const named = new RegExp(`btree_node validator check failed for block ${blocks.mappingRoot}\\b`);
    let thinError: unknown;
    try {
      await lab.dm.create('t', '0 8192 thin /dev/mapper/pool 0');
      await lab.read('t', 0, 8);
    } catch (e) {
      thinError = e;
    }
    expect(thinError).toMatchObject({ code: 'EILSEQ' });
    expect(String((thinError as Error).message)).toMatch(named);
    await lab.dm.close();
    await expectThinCheckFails(meta);
  });
});
