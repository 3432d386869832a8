// raid1_resync_throttle: dm-mirror's module parameter (DECLARE_DM_KCOPYD_THROTTLE_WITH_MODULE_PARM in
// drivers/md/dm-raid1.c), one throttle shared by the resync copies of every mirror, percent of time,
// 100 (the default) = unlimited, writable at any time.

import { KcopydThrottle } from '../../src/kcopyd/throttle.js';

export const raid1ResyncThrottle = new KcopydThrottle(100);
