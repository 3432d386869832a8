// Devices panel: the tree by stacking (origin above its snapshots, mirror above its legs) with target, size,
// state, and a usage bar with Invalid/Overflow/Merging for snapshots or a sync bar and health letters for mirrors.
// An exported device has a second line under it: `nbd`, its client count, `ro`, and the URI (or the address).

import { Box } from 'ink';
import { bar, fit, humanSectors } from '../format.js';
import { deviceTree, type TreeRow } from '../store/devices.js';
import type { DeviceView, ExportView, ViewState } from '../store/view-state.js';
import { Panel } from './panel.js';
import { type Tone, Toned } from './theme.js';
import { thinDetail, thinPoolLine, thinPoolTone } from './thin-lines.js';

const SHORT_TARGET: Record<string, string> = {
  'snapshot-origin': 'origin',
  'snapshot-merge': 'merge',
  snapshot: 'snap',
};

/** LVM's Snap%: 0 while only the metadata is allocated, else allocated/total. */
function snapshotUsage(s: { allocated: number; total: number; metadata: number }): number {
  if (s.total <= 0 || s.allocated <= s.metadata) return 0;
  return s.allocated / s.total;
}

/** Snapshot or mirror details in `width` columns: a bar, then `12%`, `Invalid`, `Merging` or `30/32 AD`. */
function deviceDetail(d: DeviceView, width: number): string {
  if (d.failed) return 'FAILED (error table)';
  if (d.thin) return thinDetail(d.thin, d.sizeSectors, width);
  if (d.thinPool) return `${d.thinPool.dataUsed}/${d.thinPool.dataTotal} blocks`;
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
  if (d.failed || d.snapshot?.invalid || d.snapshot?.mergeFailed || /[DFR]/.test(d.mirror?.health ?? ''))
    return 'error';
  const pool = d.thinPool ? thinPoolTone(d.thinPool) : 'plain';
  if (pool !== 'plain') return pool;
  if (d.state === 'SUSPENDED' || d.snapshot?.overflow) return 'warn';
  if (d.snapshot?.merging || (d.mirror && d.mirror.inSync < d.mirror.regions)) return 'busy';
  return 'plain';
}

function deviceLine(row: TreeRow, width: number, selected: boolean): string {
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

/** Cuts the middle out of text too long for width, so both the start and the end (a socket's file name) stay. */
function middleCut(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width < 8) return fit(text, width);
  const head = Math.ceil((width - 1) / 2);
  return `${text.slice(0, head)}~${text.slice(text.length - (width - 1 - head))}`;
}

/** The export line: `nbd 2 clients ro nbd://127.0.0.1:10809/base`; the listen address when the URI does not fit. */
function exportLine(exp: ExportView, depth: number, width: number): string {
  const head = `${' '.repeat(2 + 2 * depth)}nbd ${exp.clients} client${exp.clients === 1 ? '' : 's'}${exp.readOnly ? ' ro' : ''} `;
  const room = width - head.length;
  return fit(head + (exp.uri.length <= room ? exp.uri : middleCut(exp.listen, room)), width);
}

interface Line {
  key: string;
  device: string;
  text: string;
  tone: Tone;
  /** The device's own line (not its export line). */
  main: boolean;
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
  const lines: Line[] = rows.flatMap((r): Line[] => {
    const d = r.device;
    const main: Line = {
      key: d.name,
      device: d.name,
      text: deviceLine(r, width, d.name === selected),
      tone: tone(d),
      main: true,
    };
    const pool: Line[] = d.thinPool
      ? [
          {
            key: `${d.name} pool`,
            device: d.name,
            text: thinPoolLine(d.thinPool, r.depth, width),
            tone: thinPoolTone(d.thinPool),
            main: false,
          },
        ]
      : [];
    if (!d.export) return [main, ...pool];
    return [
      main,
      ...pool,
      {
        key: `${d.name} nbd`,
        device: d.name,
        text: exportLine(d.export, r.depth, width),
        tone: d.export.clients > 0 ? 'ok' : 'plain',
        main: false,
      },
    ];
  });
  const body = Math.max(0, height - 1);
  // The selected device stays in view together with its export line.
  const at = lines.findIndex((l) => l.device === selected);
  let end = Math.max(0, at);
  while (at >= 0 && lines[end + 1]?.device === selected) end++;
  const first = Math.max(0, Math.min(end - body + 1, lines.length - body));
  const shown = lines.slice(first, first + body);
  const above = lines.slice(0, first).filter((l) => l.main).length;
  const below = lines.slice(first + body).filter((l) => l.main).length;
  return (
    <Panel
      title="Devices"
      info={`(${rows.length}${above + below > 0 ? `, ${above} above, ${below} below` : ''})`}
      focused={focused}
      width={width}
      height={height}
    >
      {rows.length === 0 ? <Toned tone="dim">{fit(' no devices: type "create NAME TABLE"', width)}</Toned> : null}
      <Box flexDirection="column">
        {shown.map((l) => (
          <Toned key={l.key} tone={l.tone}>
            {l.text}
          </Toned>
        ))}
      </Box>
    </Panel>
  );
}
