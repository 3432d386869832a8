import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { BlockManager } from '../../src/persistent-data/block-manager.js';
import { btreeEmpty, btreeInsert, btreeLookup, btreeWalk } from '../../src/persistent-data/btree.js';
import { BtreeNode, btreeNodeValidator } from '../../src/persistent-data/btree-node.js';
import { btreeRemove } from '../../src/persistent-data/btree-remove.js';
import type { BtreeInfo } from '../../src/persistent-data/btree-spine.js';
import { MetadataSpaceMap } from '../../src/persistent-data/sm-metadata.js';
import { TransactionManager } from '../../src/persistent-data/transaction-manager.js';

async function freshTree(blocks = 1024): Promise<{ info: BtreeInfo; tm: TransactionManager }> {
  const bm = new BlockManager(new MemoryDevice('meta', blocks * 8), blocks);
  const tm = new TransactionManager(bm);
  await MetadataSpaceMap.create(tm, blocks, 0);
  return { info: { tm, levels: 1, valueType: { size: 8 } }, tm };
}

const le64 = (n: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(n));
  return b;
};

describe('btree insert', () => {
  test('600 sequential keys give the kernel shape: root keys 0, 248, 374 over leaves of 248, 126 and 226', async () => {
    // thin.md §8: what 6.1 wrote for 600 sequential inserts into one device's mapping tree.
    const { info, tm } = await freshTree();
    let root = await btreeEmpty(info);
    for (let k = 0; k < 600; k++) root = (await btreeInsert(info, root, [k], le64(k))).root;
    const rn = new BtreeNode(await tm.readLock(root, btreeNodeValidator));
    expect(rn.isLeaf).toBe(false);
    const keys = [...Array(rn.nrEntries).keys()].map((i) => rn.key(i));
    expect(keys).toEqual([0, 248, 374]);
    const sizes: number[] = [];
    for (let i = 0; i < rn.nrEntries; i++)
      sizes.push(new BtreeNode(await tm.readLock(rn.value64(i), btreeNodeValidator)).nrEntries);
    expect(sizes).toEqual([248, 126, 226]);
  });

  test('an overwrite keeps the entry count and returns inserted=false', async () => {
    const { info } = await freshTree();
    let root = await btreeEmpty(info);
    root = (await btreeInsert(info, root, [5], le64(1))).root;
    const r = await btreeInsert(info, root, [5], le64(2));
    expect(r.inserted).toBe(false);
    expect((await btreeLookup(info, r.root, [5]))?.readBigUInt64LE(0)).toBe(2n);
  });
});

describe('btree insert and remove against a Map', () => {
  test('random inserts and removals keep every key findable and the walk sorted', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 3000 })), { minLength: 1, maxLength: 1500 }),
        async (ops) => {
          const { info } = await freshTree(4096);
          const model = new Map<number, number>();
          let root = await btreeEmpty(info);
          let n = 0;
          for (const [insert, key] of ops) {
            if (insert || !model.has(key)) {
              root = (await btreeInsert(info, root, [key], le64(++n))).root;
              model.set(key, n);
            } else {
              root = (await btreeRemove(info, root, [key]))!;
              model.delete(key);
            }
          }
          const walked: [number, number][] = [];
          await btreeWalk(info, root, (k, v) => {
            walked.push([k, Number(v.readBigUInt64LE(0))]);
          });
          expect(walked).toEqual([...model.entries()].sort((a, b) => a[0] - b[0]));
          expect(await btreeRemove(info, root, [9999])).toBeUndefined();
        },
      ),
      { numRuns: 15 },
    );
  });
});
