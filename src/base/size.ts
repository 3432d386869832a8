// Size words as people type them for images and devices: 2048s (sectors), 512, 64K, 64M, 1G, 1T (binary units).

import { InvalidArgumentError } from './errors.js';

/** The unit of every table, status line and API (the kernel's SECTOR_SIZE). */
export const SECTOR_SIZE = 512;
export const PAGE_SIZE = 4096;
export const SECTORS_PER_PAGE = PAGE_SIZE / SECTOR_SIZE;

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4, p: 1024 ** 5 };

/** Parses a size word to bytes; `s` means 512-byte sectors. The result is a whole number of sectors. */
export function parseSizeBytes(word: string): number {
  const m = /^(\d+)([a-z]?)(i?b)?$/i.exec(word.trim());
  if (!m)
    throw new InvalidArgumentError(
      `invalid size "${word}": use a number with an optional unit s, K, M, G or T (e.g. 64M, 2048s)`,
    );
  const n = Number(m[1]);
  const unit = m[2]!.toLowerCase();
  const bytes = unit === 's' ? n * SECTOR_SIZE : n * (UNITS[unit] ?? NaN);
  if (!Number.isSafeInteger(bytes)) throw new InvalidArgumentError(`invalid size "${word}": unknown unit or too large`);
  if (bytes % SECTOR_SIZE !== 0)
    throw new InvalidArgumentError(`invalid size "${word}": ${bytes} bytes is not a whole number of 512-byte sectors`);
  return bytes;
}
