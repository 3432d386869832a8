// Pool features (dm-thin.c: struct pool_features, parse_pool_features, emit_flags): what a thin-pool table
// asks for after its four fixed arguments, and how its table line prints them back (always in this order).

import { ArgSet, TargetArgumentError } from '../../src/dm/dm-args.js';

export interface PoolFeatures {
  zeroNewBlocks: boolean;
  discardEnabled: boolean;
  discardPassdown: boolean;
  readOnly: boolean;
  errorIfNoSpace: boolean;
}

function defaultPoolFeatures(): PoolFeatures {
  return { zeroNewBlocks: true, discardEnabled: true, discardPassdown: true, readOnly: false, errorIfNoSpace: false };
}

/** parse_pool_features: `[<#features> <feature>...]` starting at args[start]; names compared ignoring case. */
export function parsePoolFeatures(args: readonly string[], start: number): PoolFeatures {
  const pf = defaultPoolFeatures();
  const as = new ArgSet(args, start);
  if (as.remaining === 0) return pf;
  let count = as.readGroupCount({ min: 0, max: 4, error: 'Invalid number of pool feature arguments' });
  while (count-- > 0) {
    const at = as.index;
    const word = as.shift()!;
    switch (word.toLowerCase()) {
      case 'skip_block_zeroing':
        pf.zeroNewBlocks = false;
        break;
      case 'ignore_discard':
        pf.discardEnabled = false;
        break;
      case 'no_discard_passdown':
        pf.discardPassdown = false;
        break;
      case 'read_only':
        pf.readOnly = true;
        break;
      case 'error_if_no_space':
        pf.errorIfNoSpace = true;
        break;
      default:
        throw new TargetArgumentError('Unrecognised pool feature requested', at);
    }
  }
  return pf;
}

/** emit_flags: `<count> ` then each feature followed by a space. */
export function emitFeatures(pf: PoolFeatures): string {
  const words: string[] = [];
  if (!pf.zeroNewBlocks) words.push('skip_block_zeroing');
  if (!pf.discardEnabled) words.push('ignore_discard');
  if (!pf.discardPassdown) words.push('no_discard_passdown');
  if (pf.readOnly) words.push('read_only');
  if (pf.errorIfNoSpace) words.push('error_if_no_space');
  return `${words.length} ${words.map((w) => `${w} `).join('')}`;
}
