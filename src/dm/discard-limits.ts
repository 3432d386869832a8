// Discard limits of a table: dm_calculate_queue_limits and dm_table_supports_discards (drivers/md/dm-table.c,
// 6.1) with blk_stack_limits' discard rules (block/blk-settings.c). Computed when the table is loaded, from the
// limits its devices have then, and taken by the mapped device when the table goes live (dm_table_set_restrictions).

import { type DiscardLimits, discardLimitsOf, NO_DISCARDS, takesDiscards } from '../block/block-device.js';
import type { Target } from './target.js';

/** What a table offers for discards, and, when nothing, why (for the EOPNOTSUPP a discard then gets). */
export interface TableDiscards {
  readonly limits: DiscardLimits;
  readonly refusal?: string;
}

/**
 * Each target's limits are stacked from the devices it maps, then its io_hints apply; the table stacks its
 * targets'. The table takes discards only if every target does (num_discard_bios) and every device under them
 * does (device_not_discard_capable); otherwise its limits are all 0.
 */
export function tableDiscards(targets: readonly { type: { name: string }; target: Target }[]): TableDiscards {
  let limits = NO_DISCARDS;
  for (const t of targets) {
    if (!t.target.takesDiscards) return { limits: NO_DISCARDS, refusal: `its ${t.type.name} target takes none` };
    let own = NO_DISCARDS;
    for (const area of t.target.deviceAreas?.() ?? []) {
      if (!takesDiscards(area.device.bdev)) {
        return { limits: NO_DISCARDS, refusal: `${area.device.name}, under its ${t.type.name} target, takes none` };
      }
      own = stackDiscardLimits(own, discardLimitsOf(area.device.bdev));
    }
    limits = stackDiscardLimits(limits, t.target.discardHints?.(own) ?? own);
  }
  return { limits };
}

/** blk_stack_limits for discards: the smallest non-zero maximum, the largest granularity. */
function stackDiscardLimits(top: DiscardLimits, bottom: DiscardLimits): DiscardLimits {
  return {
    maxSectors: minNotZero(top.maxSectors, bottom.maxSectors),
    maxHwSectors: minNotZero(top.maxHwSectors, bottom.maxHwSectors),
    granularity: Math.max(top.granularity, bottom.granularity),
  };
}

function minNotZero(a: number, b: number): number {
  if (a === 0) return b;
  if (b === 0) return a;
  return Math.min(a, b);
}
