import { describe, expect, it } from 'vitest';
import { parseSizeBytes } from '../../src/base/size.js';

describe('parseSizeBytes', () => {
  it.each([
    ['2048s', 2048 * 512],
    ['512', 512],
    ['64K', 64 * 1024],
    ['64M', 64 * 1024 * 1024],
    ['1G', 1024 ** 3],
    ['1g', 1024 ** 3],
    ['2MiB', 2 * 1024 ** 2],
    ['1T', 1024 ** 4],
  ])('%s is %i bytes', (word, bytes) => {
    expect(parseSizeBytes(word)).toBe(bytes);
  });

  it.each(['', 'abc', '1.5G', '-1M', '64Q', '100'])('refuses %j with a clear message', (word) => {
    expect(() => parseSizeBytes(word)).toThrow(/invalid size/);
  });
});
