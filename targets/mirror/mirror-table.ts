// The mirror table's arguments, checked in the order and with the reasons of dm-raid1.c mirror_ctr,
// create_dirty_log, get_mirror and parse_features (and dm-log.c's ctrs for the log part):
//   <core|disk> <#log args> <log args> <#legs 2..9> (<dev> <offset>){#legs} [<#features> handle_errors keep_log]

import { SECTOR_SIZE } from '../../src/block/block-device.js';
import { InvalidArgumentError } from '../../src/dm/errors.js';
import type { DmDevice, TargetContext } from '../../src/dm/target.js';
import { type LogArgs, parseLogArgs, parseUnsigned } from './dirty-log.js';
import { diskLogBufferSize } from './disk-log.js';

/** kcopyd's 8 destinations plus the source. */
export const MAX_NR_MIRRORS = 9;

export interface MirrorFeatures {
  handleErrors: boolean;
  keepLog: boolean;
}

export interface MirrorTable {
  logType: 'core' | 'disk';
  logArgs: LogArgs;
  /** The disk log's device (disk logs only). */
  logDev: DmDevice | null;
  legs: { dev: DmDevice; offset: number }[];
  features: MirrorFeatures;
}

function refuse(message: string): never {
  throw new InvalidArgumentError(message);
}

function causeOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function parseMirrorTable(ctx: TargetContext, argv: string[]): Promise<MirrorTable> {
  const mode = ctx.readOnly ? 'r' : 'rw';
  let args = argv;

  // create_dirty_log
  if (args.length < 2) refuse('Insufficient mirror log arguments');
  const paramCount = parseUnsigned(args[1]);
  if (paramCount === null) refuse('Invalid mirror log argument count');
  if (args.length < 2 + paramCount) refuse('Insufficient mirror log arguments');
  const logType = args[0]!;
  const params = args.slice(2, 2 + paramCount);
  args = args.slice(2 + paramCount);
  let logDev: DmDevice | null = null;
  let logArgs: LogArgs;
  if (logType === 'core') {
    logArgs = parseLogArgs(params, ctx.len);
  } else if (logType === 'disk') {
    if (params.length < 2 || params.length > 3) {
      refuse('Error creating mirror dirty log: wrong number of arguments to disk dirty region log');
    }
    try {
      logDev = await ctx.getDevice(params[0]!, mode);
    } catch (e) {
      refuse(`Error creating mirror dirty log: ${causeOf(e)}`);
    }
    logArgs = parseLogArgs(params.slice(1), ctx.len);
    const need = diskLogBufferSize(Math.ceil(ctx.len / logArgs.regionSize));
    if (need > logDev.bdev.sizeSectors * SECTOR_SIZE) {
      refuse(`Error creating mirror dirty log: log device ${logDev.name} too small: need ${need} bytes`);
    }
  } else {
    refuse(`Error creating mirror dirty log: unknown log type "${logType}" (use core or disk)`);
  }

  // #mirrors and the legs
  const nrMirrors = parseUnsigned(args[0]);
  if (nrMirrors === null || nrMirrors < 2 || nrMirrors > MAX_NR_MIRRORS) refuse('Invalid number of mirrors');
  args = args.slice(1);
  if (args.length < nrMirrors * 2) refuse('Too few mirror arguments');
  const legs: MirrorTable['legs'] = [];
  for (let m = 0; m < nrMirrors; m++) {
    const [path, offsetWord] = [args[0]!, args[1]!];
    const offset = /^\d+$/.test(offsetWord) ? Number(offsetWord) : NaN;
    if (!Number.isSafeInteger(offset)) refuse('Invalid offset');
    let dev: DmDevice;
    try {
      dev = await ctx.getDevice(path, mode);
    } catch (e) {
      refuse(`Device lookup failure: ${causeOf(e)}`);
    }
    if (offset + ctx.len > dev.bdev.sizeSectors) {
      refuse(`${dev.name} too small for target: start=${offset}, len=${ctx.len}, dev_size=${dev.bdev.sizeSectors}`);
    }
    legs.push({ dev, offset });
    args = args.slice(2);
  }

  // parse_features
  const features: MirrorFeatures = { handleErrors: false, keepLog: false };
  if (args.length > 0) {
    const n = parseUnsigned(args[0]);
    if (n === null) refuse('Invalid number of features');
    args = args.slice(1);
    if (n > args.length) refuse('Not enough arguments to support feature count');
    for (let i = 0; i < n; i++) {
      if (args[0] === 'handle_errors') features.handleErrors = true;
      else if (args[0] === 'keep_log') features.keepLog = true;
      else refuse('Unrecognised feature requested');
      args = args.slice(1);
    }
    if (!features.handleErrors && features.keepLog) refuse('keep_log feature requires the handle_errors feature');
  }
  if (args.length > 0) refuse('Too many mirror arguments');
  return { logType, logArgs, logDev, legs, features };
}
