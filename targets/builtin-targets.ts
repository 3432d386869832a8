// The target types every DeviceMapper starts with: one line per type. Registration order is the kernel's
// module load order on the oracle, so `targets()` lists them as `dmsetup targets` does (newest first).

import type { TargetRegistry } from '../src/dm/target-registry.js';
import { delayTargetType } from './delay.js';
import { errorTargetType } from './error.js';
import { flakeyTargetType } from './flakey.js';
import { linearTargetType } from './linear.js';
import { mirrorTargetType } from './mirror/mirror.js';
import { mergeTargetType } from './snapshot/merge.js';
import { originTargetType } from './snapshot/origin.js';
import { snapshotTargetType } from './snapshot/snapshot.js';
import { thinTargetType } from './thin/thin.js';
import { thinPoolTargetType } from './thin/thin-pool.js';
import { zeroTargetType } from './zero.js';

export function registerBuiltinTargets(registry: TargetRegistry): void {
  registry.register(errorTargetType);
  registry.register(linearTargetType);
  // striped would come here; mirror, snapshot, snapshot-origin and snapshot-merge after it, in that order.
  registry.register(mirrorTargetType);
  registry.register(snapshotTargetType);
  registry.register(originTargetType);
  registry.register(mergeTargetType);
  registry.register(flakeyTargetType);
  registry.register(delayTargetType);
  registry.register(zeroTargetType);
  // dm-thin-pool is not loaded at boot: the first table naming thin or thin-pool loads it (dm_thin_init
  // registers thin, then thin-pool), and `dmsetup targets` lists them first from then on (oracle:
  // fixtures/thin/kernel-session.out).
  registry.registerModule(['thin', 'thin-pool'], () => [thinTargetType, thinPoolTargetType]);
}
