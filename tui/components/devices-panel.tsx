// Devices panel: the tree by stacking (origin above its snapshots, mirror above its legs) with target, size,
// state, and a usage bar with Invalid/Overflow/Merging for snapshots or a sync bar and health letters for mirrors.

import { Box } from 'ink';
import { deviceTree, type TreeRow } from '../store/devices.js';
import type { DeviceView, ViewState } from '../store/view-state.js';
import { bar, fit, humanSectors, percent } from '../format.js';
import { Panel } from './panel.js';
import { type Tone, Toned } from './theme.js';

const SHORT_TARGET: Record<string, string> = {
  'snapshot-origin': 'origin',
  'snapshot-merge': 'merge',
  snapshot: 'snap',
};

/** Snapshot or mirror details, e.g. `[##..] 50% Invalid` or `[###.] 3/4 AD`. */
export function deviceDetail(d: DeviceView, barWidth: number): string {
  if (d.failed) return 'FAILED (error table)';
  if (d.snapshot) {
    const s = d.snapshot;
    const flags = [s.invalid && 'Invalid', s.overflow && 'Overflow', s.merging && 'Merging', s.mergeFailed && 'Merge failed'].filter(Boolean).join(' ');
    if (s.invalid || s.mergeFailed) return flags;
    return `[${bar(s.total ? s.allocated / s.total : 0, barWidth)}]${percent(s.allocated, s.total)}${flags ? ` ${flags}` : ''}`;
  }
  if (d.mirror) {
    const m = d.mirror;
    return `[${bar(m.regions ? m.inSync / m.regions : 0, barWidth)}] ${m.inSync}/${m.regions} ${m.health}`;
  }
  return '';
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
  const size = humanSectors(d.sizeSectors).padStart(5);
  const state = wide ? d.state.padEnd(9) : d.state.slice(0, 3);
  const head = `${selected ? '>' : ' '}${name} ${target} ${size} ${state} `;
  const detail = deviceDetail(d, Math.max(4, Math.min(20, width - head.length - 16)));
  return fit(head + detail, width);
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
    <Panel title="Devices" info={`(${rows.length})`} focused={focused} width={width} height={height}>
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
