// Devices panel: the tree by stacking (origin above its snapshots, mirror above its legs) with target, size,
// state, and a usage bar with Invalid/Overflow/Merging for snapshots or a sync bar and health letters for mirrors.

import { Box } from 'ink';
import { deviceTree, type TreeRow } from '../store/devices.js';
import type { DeviceView, ViewState } from '../store/view-state.js';
import { bar, fit, humanSectors } from '../format.js';
import { Panel } from './panel.js';
import { type Tone, Toned } from './theme.js';

const SHORT_TARGET: Record<string, string> = {
  'snapshot-origin': 'origin',
  'snapshot-merge': 'merge',
  snapshot: 'snap',
};

/** LVM's Snap%: 0 while only the metadata is allocated, else allocated/total. */
export function snapshotUsage(s: { allocated: number; total: number; metadata: number }): number {
  if (s.total <= 0 || s.allocated <= s.metadata) return 0;
  return s.allocated / s.total;
}

/** Snapshot or mirror details in `width` columns: a bar, then `12%`, `Invalid`, `Merging` or `30/32 AD`. */
export function deviceDetail(d: DeviceView, width: number): string {
  if (d.failed) return 'FAILED (error table)';
  let fraction: number | undefined;
  let text = '';
  if (d.snapshot) {
    const s = d.snapshot;
    if (s.invalid) return 'Invalid';
    if (s.mergeFailed) return 'Merge failed';
    fraction = snapshotUsage(s);
    text = `${Math.floor(fraction * 100)}%${s.overflow ? ' Overflow' : ''}${s.merging ? ' Merging' : ''}`;
  } else if (d.mirror) {
    const m = d.mirror;
    fraction = m.regions ? m.inSync / m.regions : 0;
    text = `${m.inSync}/${m.regions} ${m.health}`;
  }
  if (fraction === undefined) return '';
  const barWidth = Math.min(20, width - text.length - 3);
  return barWidth >= 3 ? `[${bar(fraction, barWidth)}] ${text}` : text;
}

function tone(d: DeviceView): Tone {
  if (d.failed || d.snapshot?.invalid || d.snapshot?.mergeFailed || /[DFR]/.test(d.mirror?.health ?? '')) return 'error';
  if (d.state === 'SUSPENDED' || d.snapshot?.overflow) return 'warn';
  if (d.snapshot?.merging || (d.mirror && d.mirror.inSync < d.mirror.regions)) return 'busy';
  return 'plain';
}

export function deviceLine(row: TreeRow, width: number, selected: boolean): string {
  const d = row.device;
  const wide = width >= 60;
  const indent = row.depth > 0 ? `${'  '.repeat(row.depth - 1)}└ ` : '';
  const name = `${indent}${d.name}`.padEnd(wide ? 16 : 11);
  const target = (wide ? d.target : (SHORT_TARGET[d.target] ?? d.target)).padEnd(wide ? 15 : 6).slice(0, wide ? 15 : 6);
  const size = humanSectors(d.sizeSectors).padStart(wide ? 5 : 4);
  const state = wide ? d.state.padEnd(9) : d.state.slice(0, 3);
  const head = `${selected ? '>' : ' '}${name} ${target} ${size} ${state} `;
  return fit(head + deviceDetail(d, width - head.length), width);
}

export interface DevicesPanelProps {
  state: ViewState;
  selected: string | undefined;
  focused: boolean;
  width: number;
  height: number;
}

export function DevicesPanel({ state, selected, focused, width, height }: DevicesPanelProps) {
  const rows = deviceTree(state.devices);
  const body = Math.max(0, height - 1);
  const at = Math.max(0, rows.findIndex((r) => r.device.name === selected));
  const first = Math.max(0, Math.min(at - body + 1, rows.length - body));
  const shown = rows.slice(first, first + body);
  return (
    <Panel title="Devices" info={`(${rows.length}${rows.length > shown.length ? `, ${first} above, ${rows.length - first - shown.length} below` : ''})`} focused={focused} width={width} height={height}>
      {rows.length === 0 ? <Toned tone="dim">{fit(' no devices: type "create NAME TABLE"', width)}</Toned> : null}
      <Box flexDirection="column">
        {shown.map((r) => (
          <Toned key={r.device.name} tone={tone(r.device)}>
            {deviceLine(r, width, r.device.name === selected)}
          </Toned>
        ))}
      </Box>
    </Panel>
  );
}
