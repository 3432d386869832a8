import { describe, expect, it } from 'vitest';
import { MemoryDevice } from '../../src/block/memory-device.js';

describe('MemoryDevice', () => {
  it('holds only written pages, so a 1 TiB device is cheap', async () => {
    const dev = new MemoryDevice('mem', 2 ** 31); // 1 TiB in sectors
    await dev.write(2 ** 31 - 8, Buffer.alloc(4096, 0xab));
    expect(dev.residentPages).toBe(1);
    const back = Buffer.alloc(4096);
    await dev.read(2 ** 31 - 8, back);
    expect(back.equals(Buffer.alloc(4096, 0xab))).toBe(true);
  });
});
