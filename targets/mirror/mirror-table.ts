// The mirror table's arguments, checked in the order and with the reasons of dm-raid1.c mirror_ctr,
// create_dirty_log, get_mirror and parse_features (and dm-log.c's ctrs for the log part):
//   <core|disk> <#log args> <log args> <#legs 2..9> (<dev> <offset>){#legs} [<#features> handle_errors keep_log]
// Refusals are TargetArgumentErrors: the kernel's ti->error, the word at fault, dmsim's detail.

import { SECTOR_SIZE } from '../../src/base/size.js';
import { parseSectorArg, parseUintArg, TargetArgumentError } from '../../src/dm/dm-args.js';
import type { DmDevice, TargetContext } from '../../src/dm/target.js';
import { type LogArgs, parseLogArgs } from './dirty-log.js';
import { diskLogBufferSize } from './disk-log.js';

/** kcopyd's 8 destinations plus the source. */
const MAX_NR_MIRRORS = 9;

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

function refuse(message: string, at?: number, detail?: string): never {
  throw new TargetArgumentError(message, at, detail);
}

function causeOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export async function parseMirrorTable(ctx: TargetContext, args: string[]): Promise<MirrorTable> {
  const mode = ctx.readOnly ? 'r' : 'rw';
  let i = 0; // index of the next argument

  // create_dirty_log
  if (args.length < 2) refuse('Insufficient mirror log arguments', args.length > 0 ? 0 : undefined);
  const paramCount = parseUintArg(args[1]);
  if (paramCount === undefined) refuse('Invalid mirror log argument count', 1);
  if (args.length < 2 + paramCount) refuse('Insufficient mirror log arguments', 1);
  const logType = args[0]!;
  const params = args.slice(2, 2 + paramCount);
  i = 2 + paramCount;
  let logDev: DmDevice | null = null;
  let logArgs: LogArgs;
  if (logType === 'core') {
    logArgs = parseLogArgs(params, ctx.len, 2);
  } else if (logType === 'disk') {
    if (params.length < 2 || params.length > 3) {
      refuse('Error creating mirror dirty log', 1, 'wrong number of arguments to disk dirty region log');
    }
    try {
      logDev = await ctx.getDevice(params[0]!, mode);
    } catch (e) {
      refuse('Error creating mirror dirty log', 2, causeOf(e));
    }
    logArgs = parseLogArgs(params.slice(1), ctx.len, 3);
    const need = diskLogBufferSize(Math.ceil(ctx.len / logArgs.regionSize));
    if (need > logDev.bdev.sizeSectors * SECTOR_SIZE) {
      refuse('Error creating mirror dirty log', 2, `log device ${logDev.name} too small: need ${need} bytes`);
    }
  } else {
    refuse('Error creating mirror dirty log', 0, `unknown dirty log type "${logType}" (core or disk)`);
  }

  // #mirrors and the legs
  const nrMirrors = parseUintArg(args[i]);
  if (nrMirrors === undefined || nrMirrors < 2 || nrMirrors > MAX_NR_MIRRORS) {
    refuse('Invalid number of mirrors', args[i] === undefined ? undefined : i, `2 to ${MAX_NR_MIRRORS} legs`);
  }
  i++;
  if (args.length - i < nrMirrors * 2)
    refuse('Too few mirror arguments', i - 1, `${nrMirrors} legs need ${nrMirrors * 2} words`);
  const legs: MirrorTable['legs'] = [];
  for (let m = 0; m < nrMirrors; m++, i += 2) {
    const offset = parseSectorArg(args[i + 1]);
    if (offset === undefined) refuse('Invalid offset', i + 1);
    let dev: DmDevice;
    try {
      dev = await ctx.getDevice(args[i]!, mode);
    } catch (e) {
      throw new TargetArgumentError('Device lookup failure', i, causeOf(e), 'ENODEV');
    }
    legs.push({ dev, offset });
  }

  // parse_features
  const features: MirrorFeatures = { handleErrors: false, keepLog: false };
  if (i < args.length) {
    const n = parseUintArg(args[i]);
    if (n === undefined) refuse('Invalid number of features', i);
    if (n > args.length - i - 1) refuse('Not enough arguments to support feature count', i);
    i++;
    for (let f = 0; f < n; f++, i++) {
      if (args[i] === 'handle_errors') features.handleErrors = true;
      else if (args[i] === 'keep_log') features.keepLog = true;
      else refuse('Unrecognised feature requested', i, 'the features are handle_errors and keep_log');
    }
    if (!features.handleErrors && features.keepLog) refuse('keep_log feature requires the handle_errors feature');
  }
  if (i < args.length) refuse('Too many mirror arguments', i);
  return { logType, logArgs, logDev, legs, features };
}
