// delay's status and table parameters as typed objects, and back (dm-delay.c delay_status as in 6.1). The
// target prints through these functions, so printing and parsing are one rule:
//   STATUSTYPE_INFO:  `<reads> <writes> <flushes>` — bios of each class queued right now
//   STATUSTYPE_TABLE: the 1 to 3 `<dev> <offset> <delay_ms>` triples the table gave (read, write, flush)

import { InvalidArgumentError } from '../src/base/errors.js';

export interface DelayStatus {
  queuedReads: number;
  queuedWrites: number;
  queuedFlushes: number;
}

export interface DelayClassParams {
  device: string;
  offset: number;
  delayMs: number;
}

export interface DelayTableParams {
  /** The read triple, then (if given) the write triple, then the flush triple. */
  classes: DelayClassParams[];
}

function fail(type: string, params: string, why: string): never {
  throw new InvalidArgumentError(`not a delay ${type} line: "${params}" (${why})`);
}

export function parseDelayStatus(params: string): DelayStatus {
  const m = /^(\d+) (\d+) (\d+)$/.exec(params.trim());
  if (!m) fail('status', params, 'expected <reads> <writes> <flushes>');
  return { queuedReads: Number(m[1]), queuedWrites: Number(m[2]), queuedFlushes: Number(m[3]) };
}

export function formatDelayStatus(s: DelayStatus): string {
  return `${s.queuedReads} ${s.queuedWrites} ${s.queuedFlushes}`;
}

export function parseDelayTable(params: string): DelayTableParams {
  const w = params.trim().split(/\s+/);
  if (![3, 6, 9].includes(w.length)) fail('table', params, 'expected 1 to 3 <dev> <offset> <delay> triples');
  const classes: DelayClassParams[] = [];
  for (let i = 0; i < w.length; i += 3) {
    if (!/^\d+$/.test(w[i + 1]!) || !/^\d+$/.test(w[i + 2]!)) fail('table', params, `triple ${i / 3 + 1}`);
    classes.push({ device: w[i]!, offset: Number(w[i + 1]), delayMs: Number(w[i + 2]) });
  }
  return { classes };
}

export function formatDelayTable(t: DelayTableParams): string {
  return t.classes.map((c) => `${c.device} ${c.offset} ${c.delayMs}`).join(' ');
}
