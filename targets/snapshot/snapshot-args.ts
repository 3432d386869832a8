// The table arguments shared by `snapshot` and `snapshot-merge` (snapshot_ctr + parse_snapshot_features +
// dm_exception_store_create in dm-snap.c / dm-exception-store.c), checked in the kernel's order.

import { InvalidArgumentError } from '../../src/dm/errors.js';
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
    throw new InvalidArgumentError(
      `requires 4 or more arguments: <origin> <cow> <P|PO|N> <chunk_size> [<#features> <feature>...] (got ${args.length})`,
    );
  }
  const [originPath, cowPath, type, chunk] = args as [string, string, string, string];
  let discardZeroesCow = false;
  let discardPassdownOrigin = false;
  if (args.length > 4) {
    const countWord = args[4]!;
    const count = /^\d+$/.test(countWord) ? Number(countWord) : NaN;
    if (!(count >= 0 && count <= 2) || args.length - 5 < count) {
      throw new InvalidArgumentError(`Invalid number of feature arguments: "${countWord}" (0 to 2, followed by that many features)`);
    }
    for (const name of args.slice(5, 5 + count)) {
      const lower = name.toLowerCase();
      if (lower === 'discard_zeroes_cow') discardZeroesCow = true;
      else if (lower === 'discard_passdown_origin') discardPassdownOrigin = true;
      else {
        throw new InvalidArgumentError(
          `Unrecognised feature requested: "${name}" (known: discard_zeroes_cow, discard_passdown_origin)`,
        );
      }
    }
    if (discardPassdownOrigin && !discardZeroesCow) {
      throw new InvalidArgumentError('discard_passdown_origin feature depends on discard_zeroes_cow');
    }
  }
  return { originPath, cowPath, store: parseStoreArgs(type, chunk), discardZeroesCow, discardPassdownOrigin };
}
