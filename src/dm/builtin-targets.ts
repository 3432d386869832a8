// The target types every DeviceMapper starts with: one line per type. Registration order is the kernel's
// module load order on the oracle, so `targets()` lists them as `dmsetup targets` does (newest first).

import type { TargetRegistry } from './target-registry.js';
import { errorTargetType } from '../../targets/error.js';
import { linearTargetType } from '../../targets/linear.js';
import { flakeyTargetType } from '../../targets/flakey.js';
import { delayTargetType } from '../../targets/delay.js';
import { zeroTargetType } from '../../targets/zero.js';
import { mirrorTargetType } from '../../targets/mirror/mirror.js';
import { snapshotTargetType } from '../../targets/snapshot/snapshot.js';
import { originTargetType } from '../../targets/snapshot/origin.js';
import { mergeTargetType } from '../../targets/snapshot/merge.js';

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
}
