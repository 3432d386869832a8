// The thin rows of the devices panel: a thin-pool's own line under it (data and metadata usage bars, the
// transaction id, the mode as pool_status prints it) and a thin device's detail (the share of its virtual size
// that is mapped). Text only: devices-panel.tsx places and colours them.

import { bar, fit } from '../format.js';
import type { ThinPoolView, ThinView } from '../store/view-state.js';
import type { Tone } from './theme.js';

/**
 * `data [####....] 25/32 meta [#...] 112/1024 tx 0 rw`, shortened to fit: the bars shrink, then the metadata bar
 * goes, then the data bar.
 */
export function thinPoolLine(pool: ThinPoolView, depth: number, width: number): string {
  const indent = ' '.repeat(2 + 2 * depth);
  const data = `${pool.dataUsed}/${pool.dataTotal}`;
  const meta = `${pool.metadataUsed}/${pool.metadataTotal}`;
  const tail = `tx ${pool.transactionId} ${pool.mode}${pool.needsCheck ? ' needs_check' : ''}`;
  const plain = `${indent}data ${data} meta ${meta} ${tail}`;
  const dataBar = (n: number) => ` [${bar(pool.dataTotal ? pool.dataUsed / pool.dataTotal : 0, n)}]`;
  const metaBar = (n: number) => ` [${bar(pool.metadataTotal ? pool.metadataUsed / pool.metadataTotal : 0, n)}]`;
  const room = width - plain.length;
  // Each bar takes its cells plus a space and two brackets.
  const both = Math.min(10, Math.floor((room - 6) / 2));
  if (both >= 3) return fit(`${indent}data${dataBar(both)} ${data} meta${metaBar(both)} ${meta} ${tail}`, width);
  const one = Math.min(10, room - 3);
  if (one >= 3) return fit(`${indent}data${dataBar(one)} ${data} meta ${meta} ${tail}`, width);
  return fit(plain, width);
}

/** Error when the pool cannot take writes, warn at or below its low water mark. */
export function thinPoolTone(pool: ThinPoolView): Tone {
  if (pool.mode !== 'rw' || pool.needsCheck) return 'error';
  return pool.dataTotal - pool.dataUsed <= pool.lowWater ? 'warn' : 'plain';
}

/** A thin device's detail: `[##....] 12% mapped`, or `Fail`. */
export function thinDetail(thin: ThinView, sizeSectors: number, width: number): string {
  if (thin.failed) return 'Fail';
  const fraction = sizeSectors > 0 ? thin.mappedSectors / sizeSectors : 0;
  const text = `${Math.floor(fraction * 100)}% mapped`;
  const barWidth = Math.min(20, width - text.length - 3);
  return barWidth >= 3 ? `[${bar(fraction, barWidth)}] ${text}` : fit(text, width);
}
