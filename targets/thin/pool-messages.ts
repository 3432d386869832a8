// `dmsetup message <pool> 0 ...` (dm-thin.c: pool_message and the process_*_mesg handlers): create_thin,
// create_snap, delete, set_transaction_id, reserve_metadata_snap, release_metadata_snap. Names are compared
// ignoring case. A refusal carries the kernel's errno and the lines it logs.

import { DmError, InvalidArgumentError } from '../../src/base/errors.js';
import type { Pool } from './pool.js';
import { MAX_DEV_ID } from './thin-metadata.js';

function checkArgCount(args: readonly string[], wanted: number): void {
  if (args.length !== wanted)
    throw new InvalidArgumentError(`thin: Message received with ${args.length} arguments instead of ${wanted}.`);
}

/** read_dev_id: a decimal id no larger than 2^24 - 1. */
function readDevId(word: string): number {
  if (/^\d+$/.test(word) && BigInt(word) <= BigInt(MAX_DEV_ID)) return Number(word);
  throw new InvalidArgumentError(`thin: Message received with invalid device id: ${word}`);
}

/** kstrtoull(s, 10): a 64-bit decimal, or undefined. */
function readU64(word: string): bigint | undefined {
  if (!/^\+?\d+$/.test(word)) return undefined;
  const v = BigInt(word);
  return v < 2n ** 64n ? v : undefined;
}

/** Re-throws a metadata refusal with the kernel's warning appended, keeping its errno. */
async function withWarning(warning: string, fn: () => Promise<void>): Promise<void> {
  try {
    await fn();
  } catch (e) {
    if (e instanceof DmError) throw new DmError(e.code, `${e.message}; thin: ${warning}`);
    throw e;
  }
}

export async function handlePoolMessage(pool: Pool, args: readonly string[]): Promise<void> {
  const pmd = pool.pmd;
  const name = (args[0] ?? '').toLowerCase();
  switch (name) {
    case 'create_thin': {
      checkArgCount(args, 2);
      const id = readDevId(args[1]!);
      return withWarning(`Creation of new thinly-provisioned device with id ${args[1]} failed.`, () =>
        pmd.createThin(id),
      );
    }
    case 'create_snap': {
      checkArgCount(args, 3);
      const id = readDevId(args[1]!);
      const origin = readDevId(args[2]!);
      return withWarning(`Creation of new snapshot ${args[1]} of device ${args[2]} failed.`, () =>
        pmd.createSnap(id, origin),
      );
    }
    case 'delete': {
      checkArgCount(args, 2);
      const id = readDevId(args[1]!);
      return withWarning(`Deletion of thin device ${args[1]} failed.`, () => pmd.deleteThin(id));
    }
    case 'set_transaction_id': {
      checkArgCount(args, 3);
      const old = readU64(args[1]!);
      if (old === undefined)
        throw new InvalidArgumentError(`thin: set_transaction_id message: Unrecognised id ${args[1]}.`);
      const next = readU64(args[2]!);
      if (next === undefined)
        throw new InvalidArgumentError(`thin: set_transaction_id message: Unrecognised new id ${args[2]}.`);
      return withWarning(`Failed to change transaction id from ${args[1]} to ${args[2]}.`, () =>
        pmd.setTransactionId(old, next),
      );
    }
    case 'reserve_metadata_snap':
      checkArgCount(args, 1);
      return withWarning('reserve_metadata_snap message failed.', () => pmd.reserveMetadataSnap());
    case 'release_metadata_snap':
      checkArgCount(args, 1);
      return withWarning('release_metadata_snap message failed.', () => pmd.releaseMetadataSnap());
    default:
      throw new InvalidArgumentError(`thin: Unrecognised thin pool target message received: ${args[0]}`);
  }
}
