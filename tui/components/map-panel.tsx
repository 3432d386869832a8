// Map panel: the selected device's mirror regions (in sync, dirty, recovering, out of sync) or snapshot
// chunks (remapped, copy pending, merging) as a grid, one glyph per cell, scaled down when the device has
// more cells than the panel (a cell then shows the most urgent state among the ones it covers).

import { Box } from 'ink';
import { fit } from '../format.js';
import { cellCounts, cellState } from '../store/device-maps.js';
import type { CellState, DeviceMapView, ViewState } from '../store/view-state.js';
import { Panel } from './panel.js';
import { type Tone, Toned } from './theme.js';

const GLYPH: Record<CellState, string> = {
  clean: '.',
  unmapped: '.',
  dirty: 'd',
  recovering: 'R',
  nosync: 'x',
  remapped: '#',
  pending: 'p',
  merging: 'm',
  mapped: '#',
  shared: 's',
};

const URGENCY: CellState[] = [
  'nosync',
  'recovering',
  'pending',
  'merging',
  'dirty',
  'remapped',
  'mapped',
  'shared',
  'clean',
  'unmapped',
];

const TONE: Record<CellState, Tone> = {
  clean: 'ok',
  unmapped: 'dim',
  dirty: 'warn',
  recovering: 'busy',
  nosync: 'error',
  remapped: 'plain',
  pending: 'busy',
  merging: 'warn',
  mapped: 'plain',
  shared: 'busy',
};

/** The grid as rows of glyph runs: each run is [state, length]. */
function mapRows(m: DeviceMapView, width: number, rows: number): Array<Array<[CellState, number]>> {
  const capacity = Math.max(1, width * rows);
  const per = Math.max(1, Math.ceil(m.size / capacity));
  const cells = Math.ceil(m.size / per);
  const out: Array<Array<[CellState, number]>> = [];
  for (let c = 0; c < cells; c++) {
    let best: CellState = m.base;
    for (let i = c * per; i < Math.min(m.size, (c + 1) * per); i++) {
      const s = cellState(m, i);
      if (URGENCY.indexOf(s) < URGENCY.indexOf(best)) best = s;
    }
    if (c % width === 0) out.push([]);
    const row = out[out.length - 1]!;
    const last = row[row.length - 1];
    if (last && last[0] === best) last[1]++;
    else row.push([best, 1]);
  }
  return out;
}

function legend(m: DeviceMapView): string {
  const counts = cellCounts(m);
  return [...counts]
    .filter(([, n]) => n > 0)
    .map(([s, n]) => `${GLYPH[s]} ${s === 'clean' && m.kind === 'regions' ? 'in sync' : s} ${n}`)
    .join('  ');
}

export interface MapPanelProps {
  state: ViewState;
  device: string | undefined;
  focused: boolean;
  width: number;
  height: number;
}

export function MapPanel({ state, device, focused, width, height }: MapPanelProps) {
  const m = device ? state.maps.get(device) : undefined;
  const gridRows = Math.max(1, height - 2);
  return (
    <Panel
      title="Map"
      info={device ? `of ${device}${m ? ` (${m.size} ${m.kind})` : ''}` : ''}
      focused={focused}
      width={width}
      height={height}
    >
      {!m ? (
        <Toned tone="dim">{fit(device ? ' no map: not a mirror, snapshot or thin' : ' select a device', width)}</Toned>
      ) : (
        <Box flexDirection="column">
          {mapRows(m, width, gridRows).map((row, i) => (
            <Box key={i}>
              {row.map(([s, n], k) => (
                <Toned key={k} tone={TONE[s]}>
                  {GLYPH[s].repeat(n)}
                </Toned>
              ))}
            </Box>
          ))}
          <Toned tone="dim">{fit(legend(m), width)}</Toned>
        </Box>
      )}
    </Panel>
  );
}
