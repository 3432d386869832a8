// The table arguments shared by `snapshot` and `snapshot-merge` (snapshot_ctr + parse_snapshot_features +
// dm_exception_store_create in dm-snap.c / dm-exception-store.c), checked in the kernel's order.

import { TargetArgumentError } from '../../src/dm/dm-args.js';
import { parseStoreArgs, type StoreArgs } from './exception-store.js';

export interface SnapshotArgs {
  originPath: string;
  cowPath: string;
  store: StoreArgs;
  discardZeroesCow: boolean;
  discardPassdownOrigin: boolean;
}

export function parseSnapshotArgs(args: string[]): SnapshotArgs {
  if (args.length < 4) {
    throw new TargetArgumentError(
      'requires 4 or more arguments',
      undefined,
      `<origin> <cow> <P|PO|N> <chunk_size> [<#features> <feature>...], got ${args.length}`,
    );
  }
  const [originPath, cowPath, type, chunk] = args as [string, string, string, string];
  let discardZeroesCow = false;
  let discardPassdownOrigin = false;
  if (args.length > 4) {
    const countWord = args[4]!;
    const count = /^\d+$/.test(countWord) ? Number(countWord) : NaN;
    if (!(count >= 0 && count <= 2) || args.length - 5 < count) {
      throw new TargetArgumentError('Invalid number of feature arguments', 4, '0 to 2, followed by that many features');
    }
    for (let i = 5; i < 5 + count; i++) {
      const lower = args[i]!.toLowerCase();
      if (lower === 'discard_zeroes_cow') discardZeroesCow = true;
      else if (lower === 'discard_passdown_origin') discardPassdownOrigin = true;
      else
        throw new TargetArgumentError(
          'Unrecognised feature requested',
          i,
          'known: discard_zeroes_cow, discard_passdown_origin',
        );
    }
    if (discardPassdownOrigin && !discardZeroesCow) {
      throw new TargetArgumentError('discard_passdown_origin feature depends on discard_zeroes_cow', 4);
    }
  }
  return { originPath, cowPath, store: parseStoreArgs(type, chunk), discardZeroesCow, discardPassdownOrigin };
}
