import { describe, expect, test } from 'vitest';
import { blockChecksum, crc32c } from '../../src/persistent-data/checksum.js';

describe('crc32c', () => {
  test('is CRC-32C: the standard check value of "123456789" is 0xE3069283', () => {
    const raw = crc32c(0xffffffff, Buffer.from('123456789'));
    expect((raw ^ 0xffffffff) >>> 0).toBe(0xe3069283);
  });

  test('a block checksum covers bytes 4.. only and is salted', () => {
    const a = Buffer.alloc(4096);
    const b = Buffer.alloc(4096);
    b.writeUInt32LE(0xdeadbeef, 0);
    expect(blockChecksum(a, 121107)).toBe(blockChecksum(b, 121107));
    expect(blockChecksum(a, 121107) ^ blockChecksum(a, 240779)).toBe((121107 ^ 240779) >>> 0);
    b[4] = 1;
    expect(blockChecksum(b, 121107)).not.toBe(blockChecksum(a, 121107));
  });
});
