// A thin device's mappings as runs of virtual blocks, split by whether each block is shared: the kernel's
// __snapshotted_since (dm-thin-metadata.c) says a mapping made before the device's last snapshot time is
// shared. What the `thin.map` event carries for a viewer; the kernel has no such report (thin_dump's
// run-length <range_mapping> lines are the nearest twin).

import type { ThinBlockRun } from './events.js';
import type { PoolMetadata, ThinDevice } from './thin-metadata.js';

/** Above this many runs a map is not worth an event (a viewer draws a scaled grid anyway). */
const MAX_RUNS = 4096;

export interface ThinMapRuns {
  mapped: ThinBlockRun[];
  shared: ThinBlockRun[];
}

/** The device's mapped and shared runs, or undefined when there are too many to report. */
export async function thinMapRuns(pmd: PoolMetadata, td: ThinDevice): Promise<ThinMapRuns | undefined> {
  const dump = await pmd.dump();
  const mappings = dump.devices.find((d) => d.id === td.id)?.mappings ?? [];
  const out: ThinMapRuns = { mapped: [], shared: [] };
  for (const m of mappings) {
    const runs = td.snapshottedTime > m.time ? out.shared : out.mapped;
    const last = runs[runs.length - 1];
    if (last && last.first + last.count === m.virt) last.count++;
    else runs.push({ first: m.virt, count: 1 });
  }
  return out.mapped.length + out.shared.length > MAX_RUNS ? undefined : out;
}
