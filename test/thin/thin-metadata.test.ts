import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { PoolMetadata } from '../../targets/thin/thin-metadata.js';
import { hasThinTools, imageOf, thinCheck, thinDump } from './thin-tools.js';

/** A 4 MiB metadata device and a 1024-block data map, resumed once: the kernel's "fresh pool" of thin.md §7.6. */
async function freshPool(): Promise<{ dev: MemoryDevice; pmd: PoolMetadata }> {
  const dev = new MemoryDevice('meta', 8192);
  const pmd = await PoolMetadata.open(dev, { dataBlockSize: 128, mayFormat: true });
  await pmd.resizeDataDev(1024);
  await pmd.commit();
  return { dev, pmd };
}

async function block(dev: MemoryDevice, b: number): Promise<Buffer> {
  const buf = Buffer.alloc(4096);
  await dev.read(b * 8, buf);
  return buf;
}

describe('a freshly formatted pool', () => {
  test('writes the superblock 6.1 wrote, byte for byte (thin.md §7.2)', async () => {
    const { dev } = await freshPool();
    const sb = await block(dev, 0);
    const kernel = Buffer.alloc(4096);
    // The oracle's hexdump of block 0 after the first resume; every other byte is zero.
    Buffer.from('aac63b0c00000000000000000000000000000000000000000000000000000000', 'hex').copy(kernel, 0x00);
    Buffer.from('ba529c01000000000200000000000000', 'hex').copy(kernel, 0x20);
    Buffer.from('000400000000000000000000000000000a000000000000000500000000000000', 'hex').copy(kernel, 0x40);
    Buffer.from('000400000000000009000000000000000b000000000000000200000000000000', 'hex').copy(kernel, 0xc0);
    Buffer.from('0600000000000000070000000000000080000000080000000004000000000000', 'hex').copy(kernel, 0x140);
    expect(sb.equals(kernel)).toBe(true);
  });

  test('lays out blocks as 6.1 does: live 2, 5-11; create_thin 0 then takes 12-16', async () => {
    const { dev, pmd } = await freshPool();
    const used = pmd.metadataTotal - pmd.metadataFree;
    expect(used).toBe(111);
    // Block 10 is the data bitmap-index leaf 0 -> (blocknr 8, nr_free 16320, none_free_before 0).
    const leaf = await block(dev, 10);
    expect(leaf.readUInt32LE(16)).toBe(1);
    expect(leaf.readBigUInt64LE(32)).toBe(0n);
    const v = 32 + 8 * leaf.readUInt32LE(20);
    expect([leaf.readBigUInt64LE(v), leaf.readUInt32LE(v + 8), leaf.readUInt32LE(v + 12)]).toEqual([8n, 16320, 0]);
    // Block 11, the metadata index: [0] = bitmap 9, 16311 free, none free before 1.
    const index = await block(dev, 11);
    expect([index.readBigUInt64LE(16), index.readUInt32LE(24), index.readUInt32LE(28)]).toEqual([9n, 16311, 1]);
    await pmd.createThin(0);
    await pmd.commit();
    expect(pmd.metadataTotal - pmd.metadataFree).toBe(112);
    const sb = await block(dev, 0);
    // mapping root 14, details root 15, metadata index 16 (thin.md §7.6).
    expect([sb.readBigUInt64LE(320), sb.readBigUInt64LE(328), sb.readBigUInt64LE(208)]).toEqual([14n, 15n, 16n]);
  });

  test('reopens with the same state', async () => {
    const { dev, pmd } = await freshPool();
    await pmd.createThin(3);
    await pmd.setTransactionId(0n, 7n);
    await pmd.commit();
    const again = await PoolMetadata.open(dev, { dataBlockSize: 128, mayFormat: false });
    expect(again.transactionId).toBe(7n);
    expect((await again.dump()).devices.map((d) => d.id)).toEqual([3]);
    await expect(PoolMetadata.open(dev, { dataBlockSize: 256, mayFormat: false })).rejects.toThrow(
      'changing the data block size (from 128 to 256) is not supported',
    );
  });

  test('a corrupted superblock is refused with the kernel reason', async () => {
    const { dev } = await freshPool();
    const sb = await block(dev, 0);
    sb[100] ^= 1;
    await dev.write(0, sb);
    await expect(PoolMetadata.open(dev, { dataBlockSize: 128, mayFormat: false })).rejects.toThrow(
      /sb_check failed: csum/,
    );
  });
});

/** One step of the random sessions below. */
type Op =
  | { kind: 'create'; id: number }
  | { kind: 'snap'; id: number; origin: number }
  | { kind: 'delete'; id: number }
  | { kind: 'write'; id: number; virt: number }
  | { kind: 'discard'; id: number; begin: number; len: number }
  | { kind: 'commit' }
  | { kind: 'reserve' }
  | { kind: 'release' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('create' as const), id: fc.integer({ min: 0, max: 5 }) }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('snap' as const),
      id: fc.integer({ min: 0, max: 5 }),
      origin: fc.integer({ min: 0, max: 5 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('delete' as const), id: fc.integer({ min: 0, max: 5 }) }) },
  {
    weight: 20,
    arbitrary: fc.record({
      kind: fc.constant('write' as const),
      id: fc.integer({ min: 0, max: 5 }),
      virt: fc.integer({ min: 0, max: 700 }),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('discard' as const),
      id: fc.integer({ min: 0, max: 5 }),
      begin: fc.integer({ min: 0, max: 700 }),
      len: fc.integer({ min: 1, max: 300 }),
    }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: 'commit' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reserve' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'release' as const }) },
);

describe.skipIf(!hasThinTools)('metadata dmsim writes, read by thin-provisioning-tools', () => {
  test('thin_check passes and thin_dump shows exactly the model after random sessions', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 20, maxLength: 400 }), async (ops) => {
        const { dev, pmd } = await freshPool();
        // The model: device -> virtual block -> data block; the time counter; held snapshot or not.
        const model = new Map<number, Map<number, number>>();
        let held = false;
        for (const op of ops) {
          switch (op.kind) {
            case 'create':
              if (model.has(op.id)) await expect(pmd.createThin(op.id)).rejects.toThrow();
              else {
                await pmd.createThin(op.id);
                model.set(op.id, new Map());
              }
              break;
            case 'snap':
              if (model.has(op.id) || !model.has(op.origin))
                await expect(pmd.createSnap(op.id, op.origin)).rejects.toThrow();
              else {
                await pmd.createSnap(op.id, op.origin);
                model.set(op.id, new Map(model.get(op.origin)));
              }
              break;
            case 'delete':
              if (!model.has(op.id)) await expect(pmd.deleteThin(op.id)).rejects.toThrow();
              else {
                await pmd.deleteThin(op.id);
                model.delete(op.id);
              }
              break;
            case 'write': {
              const m = model.get(op.id);
              if (!m) break;
              const td = await pmd.openThin(op.id);
              const found = await pmd.findBlock(td, op.virt);
              expect(found?.block).toBe(m.get(op.virt));
              if (!found || found.shared) {
                const b = (await pmd.allocDataBlock())!;
                await pmd.insertBlock(td, op.virt, b);
                m.set(op.virt, b);
              }
              await pmd.closeThin(td);
              break;
            }
            case 'discard': {
              const m = model.get(op.id);
              if (!m) break;
              const td = await pmd.openThin(op.id);
              await pmd.removeRange(td, op.begin, op.begin + op.len);
              for (const k of [...m.keys()]) if (k >= op.begin && k < op.begin + op.len) m.delete(k);
              await pmd.closeThin(td);
              break;
            }
            case 'commit':
              await pmd.commit();
              break;
            case 'reserve':
              if (held) await expect(pmd.reserveMetadataSnap()).rejects.toThrow(/already exists/);
              else await pmd.reserveMetadataSnap();
              held = true;
              break;
            case 'release':
              if (!held) await expect(pmd.releaseMetadataSnap()).rejects.toThrow(/nothing to release/);
              else await pmd.releaseMetadataSnap();
              held = false;
              break;
          }
        }
        await pmd.commit();
        const path = await imageOf(dev);
        const check = thinCheck(path);
        expect(check.output).not.toMatch(/error|leak|differ/i);
        expect(check.status).toBe(0);
        const dump = thinDump(path);
        const dumped = new Map(dump.devices.map((d) => [d.id, new Map([...d.mappings].map(([v, [b]]) => [v, b]))]));
        expect(dumped).toEqual(model);
        for (const d of dump.devices) expect(d.mappedBlocks).toBe(model.get(d.id)!.size);
      }),
      { numRuns: 12 },
    );
  }, 120_000);
});
