// The words a command line is made of, one parser each: whole numbers (sectors, counts, event numbers), a byte
// value, a size word, a region spec DEV:SECTOR[+COUNT]. dmsetup's own words (struct dm_ioctl's sector, event_nr)
// are decimal; the rest are dmsim's. Each throws InvalidArgumentError with the reason only: the verb grammar
// (grammar.ts) puts the verb and its usage in front, so the CLI and the TUI say the same thing.

import { InvalidArgumentError } from '../../base/errors.js';
import { parseSizeBytes } from '../../base/size.js';

/** A whole number >= 0 (a sector, a count, an event number); `what` names it in the refusal. */
export function wholeNumber(what: string, word: string): number {
  if (!/^\d+$/.test(word) || !Number.isSafeInteger(Number(word))) {
    throw new InvalidArgumentError(`${what} must be a whole number, not '${word}'`);
  }
  return Number(word);
}

/** One byte value, 0..255 or 0x00..0xff. */
export function byteValue(what: string, word: string): number {
  const v = /^0x[0-9a-f]{1,2}$/i.test(word) ? parseInt(word, 16) : /^\d{1,3}$/.test(word) ? Number(word) : NaN;
  if (!(v >= 0 && v <= 255)) throw new InvalidArgumentError(`${what} must be 0..255 or 0x00..0xff, not '${word}'`);
  return v;
}

/** A size word (2048s, 64M ...), checked; kept as typed, since makeImage reads the same word. */
export function sizeWord(word: string): string {
  parseSizeBytes(word);
  return word;
}

/** DEV:SECTOR or DEV:SECTOR+COUNT: a region of a file or block device (the device part may contain ':'). */
export interface RegionSpec {
  path: string;
  sector: number;
  /** null when the spec gave no +COUNT. */
  count: number | null;
}

export function regionSpec(what: string, word: string): RegionSpec {
  const m = /^(.+):(\d+)(?:\+(\d+))?$/.exec(word);
  if (!m) {
    throw new InvalidArgumentError(
      `${what} '${word}': expected DEV:SECTOR or DEV:SECTOR+COUNT (whole 512-byte sectors), e.g. disk.img:2048+64`,
    );
  }
  const sector = Number(m[2]);
  const count = m[3] === undefined ? null : Number(m[3]);
  if (!Number.isSafeInteger(sector) || (count !== null && !Number.isSafeInteger(count))) {
    throw new InvalidArgumentError(`${what} '${word}': sector or count too large`);
  }
  return { path: m[1]!, sector, count };
}
