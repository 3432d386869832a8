// Reading target arguments the way the kernel does (dm-table.c's dm_read_arg / dm_read_arg_group /
// dm_shift_arg, and the `sscanf("%llu%c")` / `sscanf("%u%c")` idiom of every target constructor).
// Constructors throw TargetArgumentError: the kernel's ti->error text, plus which argument caused it.

import { DmError, type DmErrorCode } from '../base/errors.js';
import type { DmDevice, TargetContext } from './target.js';

/**
 * A constructor refusal: `message` is exactly the kernel's ti->error; `argIndex` (0-based among the target's
 * arguments) says which word was wrong, so the table can name it; `detail` is dmsim's extra explanation.
 * `code` lets "Device lookup failed" carry ENODEV as the kernel does.
 */
export class TargetArgumentError extends DmError {
  readonly argIndex: number | undefined;
  readonly detail: string | undefined;
  constructor(message: string, argIndex?: number, detail?: string, code: DmErrorCode = 'EINVAL') {
    super(code, message);
    this.argIndex = argIndex;
    this.detail = detail;
  }
}

const DIGITS = /^\d+$/;

/** `%llu%c` == 1 and fits sector_t: decimal digits only. Values beyond 2^53 are refused too (JS numbers). */
export function parseSectorArg(word: string | undefined): number | undefined {
  if (word === undefined || !DIGITS.test(word)) return undefined;
  const n = Number(word);
  return Number.isSafeInteger(n) ? n : undefined;
}

/**
 * `%u%c` == 1: decimal digits; like the kernel's sscanf the value is truncated to 32 bits
 * (6.1 takes "4294967296" as 0).
 */
export function parseUintArg(word: string | undefined): number | undefined {
  if (word === undefined || !DIGITS.test(word)) return undefined;
  return Number(BigInt(word) % 4294967296n);
}

/** struct dm_arg: the accepted range of one numeric argument and the error text when it is outside. */
export interface ArgSpec {
  min: number;
  max: number;
  error: string;
}

/** struct dm_arg_set: the words still to be read, and the index of the next one (for error reports). */
export class ArgSet {
  private readonly words: readonly string[];
  private pos: number;

  constructor(words: readonly string[], start = 0) {
    this.words = words;
    this.pos = start;
  }

  get remaining(): number {
    return this.words.length - this.pos;
  }

  /** Index (among all the target's words) of the next word to be shifted. */
  get index(): number {
    return this.pos;
  }

  /** dm_shift_arg: the next word, or undefined when none is left. */
  shift(): string | undefined {
    if (this.pos >= this.words.length) return undefined;
    return this.words[this.pos++];
  }

  /** dm_read_arg: a `%u` in [min, max], else the spec's error. */
  readUint(spec: ArgSpec): number {
    const at = this.pos;
    const v = parseUintArg(this.shift());
    if (v === undefined || v < spec.min || v > spec.max) throw new TargetArgumentError(spec.error, at);
    return v;
  }

  /** dm_read_arg_group: a count in [min, max] that is also no more than the words left after it. */
  readGroupCount(spec: ArgSpec): number {
    const at = this.pos;
    const v = parseUintArg(this.shift());
    if (v === undefined || v < spec.min || v > spec.max || v > this.remaining)
      throw new TargetArgumentError(spec.error, at);
    return v;
  }
}

/** dm_get_device's -ENXIO: a `MAJOR:MINOR` word naming no device (the kernel never reads it as a path). */
export class NoSuchDeviceNumberError extends DmError {
  constructor(word: string) {
    super('ENXIO', `${word}: no device has this number`);
  }
}

/**
 * dm_get_device for a constructor: opens the device named by argument `argIndex`, or refuses with the kernel's
 * "Device lookup failed" (ENODEV, or EBUSY for a device claimed elsewhere) and why, naming the word.
 */
export async function lookupDevice(ctx: TargetContext, args: readonly string[], argIndex: number): Promise<DmDevice> {
  try {
    return await ctx.getDevice(args[argIndex]!, ctx.readOnly ? 'r' : 'rw');
  } catch (e) {
    // A device claimed elsewhere fails the kernel's exclusive open with EBUSY, and a number naming no device its
    // lookup with ENXIO; the reload reports each as such.
    const code =
      e instanceof DmError && (e.code === 'EBUSY' || e instanceof NoSuchDeviceNumberError) ? e.code : 'ENODEV';
    throw new TargetArgumentError('Device lookup failed', argIndex, e instanceof Error ? e.message : String(e), code);
  }
}

/**
 * dm_get_device for a constructor argument whose failure has its own ti->error (`error`): refused with that
 * reason and why, naming the argument, with the failure's own code (ENODEV when it has none).
 */
export async function getArgDevice(
  ctx: TargetContext,
  word: string,
  mode: 'r' | 'rw',
  argIndex: number,
  error: string,
): Promise<DmDevice> {
  try {
    return await ctx.getDevice(word, mode);
  } catch (e) {
    throw new TargetArgumentError(
      error,
      argIndex,
      e instanceof Error ? e.message : String(e),
      e instanceof DmError ? e.code : 'ENODEV',
    );
  }
}
