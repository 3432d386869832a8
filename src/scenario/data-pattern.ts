// Data patterns for scenario writes and reads: every byte one value, or a seeded pattern in which each sector's
// 512 bytes are SHA-256("SEED:N") repeated 16 times, N counting sectors from the pattern's start. A read can
// then tell which sector of which write it found, wherever a copy, a COW chunk or a mirror leg put it.
// dmsim's own (the kernel has nothing like it; lvm2's tests use dd from /dev/urandom and compare).

import { createHash } from 'node:crypto';
import { SECTOR_SIZE } from '../base/size.js';
import type { Pattern } from './schema.js';

function seededSector(seed: string, n: number): Buffer {
  const digest = createHash('sha256').update(`${seed}:${n}`).digest();
  return Buffer.concat(Array.from({ length: SECTOR_SIZE / digest.length }, () => digest));
}

/** count sectors of the pattern, starting at pattern sector `first`. */
export function patternData(pattern: Pattern, count: number, first = 0): Buffer {
  if ('byte' in pattern) return Buffer.alloc(count * SECTOR_SIZE, pattern.byte);
  return Buffer.concat(Array.from({ length: count }, (_, i) => seededSector(pattern.seed, first + i)));
}

function sha256Hex(buf: Buffer): string {
  return createHash('sha256').update(buf).digest('hex');
}

/** A short picture of what a buffer holds: runs of equal bytes by sector, e.g. "sectors 0-7: 0xab, 8-15: other". */
function describeSectors(buf: Buffer, firstSector: number): string {
  const runs: string[] = [];
  const kind = (i: number): string => {
    const s = buf.subarray(i * SECTOR_SIZE, (i + 1) * SECTOR_SIZE);
    return s.every((b) => b === s[0]) ? `0x${s[0]!.toString(16).padStart(2, '0')}` : 'mixed';
  };
  const sectors = buf.length / SECTOR_SIZE;
  for (let i = 0; i < sectors && runs.length < 4; ) {
    const k = kind(i);
    let j = i + 1;
    while (j < sectors && kind(j) === k) j++;
    runs.push(`${firstSector + i}-${firstSector + j - 1}: ${k}`);
    i = j;
  }
  return `sectors ${runs.join(', ')}${runs.length === 4 ? ', ...' : ''}`;
}

/**
 * Null when buf holds what was expected; else which sectors differ and what they hold.
 * firstSector is only for the message (the device sector the read started at).
 */
export function checkData(buf: Buffer, expect: Pattern | { sha256: string }, firstSector: number): string | null {
  if ('sha256' in expect) {
    const got = sha256Hex(buf);
    return got === expect.sha256
      ? null
      : `sha256 is ${got}, expected ${expect.sha256} (${describeSectors(buf, firstSector)})`;
  }
  const want = patternData(expect, buf.length / SECTOR_SIZE, 'seed' in expect ? expect.seedOffset : 0);
  if (buf.equals(want)) return null;
  let first = 0;
  while (
    first * SECTOR_SIZE < buf.length &&
    buf
      .subarray(first * SECTOR_SIZE, (first + 1) * SECTOR_SIZE)
      .equals(want.subarray(first * SECTOR_SIZE, (first + 1) * SECTOR_SIZE))
  )
    first++;
  const what =
    'byte' in expect
      ? `0x${expect.byte.toString(16).padStart(2, '0')} in every byte`
      : `the pattern of seed "${expect.seed}"`;
  return `sector ${firstSector + first} is not ${what}; found ${describeSectors(buf, firstSector)}`;
}
