// Throughput panel: read, write and copy rates (the last closed second) with a sparkline of their history.

import { Box } from 'ink';
import { fit, humanBytes, sparkline } from '../format.js';
import { currentRate } from '../store/throughput.js';
import type { RateKind, ViewState } from '../store/view-state.js';
import { Panel } from './panel.js';
import { Toned } from './theme.js';

const KINDS: RateKind[] = ['read', 'write', 'copy'];

function rateLine(state: ViewState, kind: RateKind, width: number): string {
  const t = state.throughput;
  const head = `${kind.padEnd(5)} ${`${humanBytes(currentRate(t, kind))}/s`.padStart(8)} `;
  return fit(head + sparkline(t.history[kind], Math.max(0, width - head.length)), width);
}

export interface ThroughputPanelProps {
  state: ViewState;
  focused: boolean;
  width: number;
  height: number;
}

export function ThroughputPanel({ state, focused, width, height }: ThroughputPanelProps) {
  const t = state.throughput;
  const totals = `total r ${humanBytes(t.totals.read)} w ${humanBytes(t.totals.write)} c ${humanBytes(t.totals.copy)}`;
  return (
    <Panel title="Throughput" focused={focused} width={width} height={height}>
      <Box flexDirection="column">
        {KINDS.map((k) => (
          <Toned key={k} tone={k === 'copy' ? 'busy' : 'plain'}>
            {rateLine(state, k, width)}
          </Toned>
        ))}
        {height > 4 ? <Toned tone="dim">{fit(totals, width)}</Toned> : null}
      </Box>
    </Panel>
  );
}
