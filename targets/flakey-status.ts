// flakey's table parameters as a typed object, and back (dm-flakey.c flakey_status as in 6.1; its
// STATUSTYPE_INFO is empty). The target prints through formatFlakeyTable, so printing and parsing are one rule:
//   `<dev> <offset> <up> <down> <#feature words> [drop_writes|error_writes] [corrupt_bio_byte <n> <r|w> <v> <flags>] `
// 6.1 ends every word with a space, the last one included, and prints `0 ` when there are no features.

import { InvalidArgumentError } from '../src/base/errors.js';

export interface FlakeyCorruption {
  /** 1-based byte of the bio to replace. */
  byte: number;
  direction: 'r' | 'w';
  value: number;
  /** Only bios whose bi_opf has all these bits set. */
  flags: number;
}

export interface FlakeyTableParams {
  device: string;
  offset: number;
  upSeconds: number;
  downSeconds: number;
  dropWrites: boolean;
  errorWrites: boolean;
  corruptBioByte?: FlakeyCorruption;
}

function uint(word: string | undefined): number | undefined {
  return word !== undefined && /^\d+$/.test(word) ? Number(word) : undefined;
}

export function parseFlakeyTable(params: string): FlakeyTableParams {
  const w = params.trim().split(/\s+/);
  const fail = (why: string): never => {
    throw new InvalidArgumentError(`not a flakey table line: "${params}" (${why})`);
  };
  const [device, offset, up, down, n] = [w[0], uint(w[1]), uint(w[2]), uint(w[3]), uint(w[4])];
  if (device === undefined || offset === undefined || up === undefined || down === undefined)
    fail('expected <dev> <offset> <up> <down>');
  const features = w.slice(5);
  if (w.length > 4 && n !== features.length) fail('feature count');
  const t: FlakeyTableParams = {
    device: device!,
    offset: offset!,
    upSeconds: up!,
    downSeconds: down!,
    dropWrites: features.includes('drop_writes'),
    errorWrites: features.includes('error_writes'),
  };
  const at = features.indexOf('corrupt_bio_byte');
  if (at >= 0) {
    const [byte, direction, value, flags] = [
      uint(features[at + 1]),
      features[at + 2],
      uint(features[at + 3]),
      uint(features[at + 4]),
    ];
    if (byte === undefined || (direction !== 'r' && direction !== 'w') || value === undefined || flags === undefined)
      fail('corrupt_bio_byte <n> <r|w> <value> <flags>');
    t.corruptBioByte = { byte: byte!, direction: direction as 'r' | 'w', value: value!, flags: flags! };
  }
  return t;
}

export function formatFlakeyTable(t: FlakeyTableParams): string {
  const c = t.corruptBioByte;
  let s = `${t.device} ${t.offset} ${t.upSeconds} ${t.downSeconds} ${Number(t.dropWrites) + Number(t.errorWrites) + (c ? 5 : 0)} `;
  if (t.dropWrites) s += 'drop_writes ';
  else if (t.errorWrites) s += 'error_writes ';
  if (c) s += `corrupt_bio_byte ${c.byte} ${c.direction} ${c.value} ${c.flags} `;
  return s;
}
