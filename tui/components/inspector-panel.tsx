// The inspector: what `dmsim inspect NAME` prints for the selected device (snapshot store, mirror log, kcopyd
// lists), in place of the panels until i or esc closes it; up/down scroll. It asks the engine again whenever
// the store publishes a new state, so it follows the device while copies run or kcopyd is stepped.

import { Box } from 'ink';
import { useEffect, useRef, useState } from 'react';
import { formatDeviceInspection } from '../../src/control/inspect-format.js';
import type { InspectedTarget } from '../../src/dm/device-mapper-core.js';
import { fit } from '../format.js';
import { Toned } from './theme.js';

export interface InspectorPanelProps {
  device: string;
  load(name: string): Promise<InspectedTarget[]>;
  /** Changes whenever the engine's state may have (the store's published state). */
  version: unknown;
  scroll: number;
  width: number;
  height: number;
}

/** Rows each long list (exceptions, region runs, jobs) may take: a few on a small screen, more on a big one. */
function inspectorRows(height: number): number {
  return height < 30 ? 2 : 6;
}

export function InspectorPanel({ device, load, version, scroll, width, height }: InspectorPanelProps) {
  const [lines, setLines] = useState<string[]>([`${device}: asking the engine...`]);
  const busy = useRef(false);
  const again = useRef(false);
  const latest = useRef<() => void>(() => undefined);
  // biome-ignore lint/correctness/useExhaustiveDependencies: a new state (version) is the reason to ask again
  useEffect(() => {
    let live = true;
    const ask = (): void => {
      if (busy.current) {
        again.current = true;
        return;
      }
      busy.current = true;
      load(device)
        .then(
          (targets) => {
            if (live) setLines(formatDeviceInspection(device, targets, { width, rows: inspectorRows(height) }));
          },
          (e: unknown) => {
            if (live) setLines([`${device}: ${e instanceof Error ? e.message : String(e)}`]);
          },
        )
        .finally(() => {
          busy.current = false;
          if (again.current) {
            again.current = false;
            latest.current();
          }
        });
    };
    latest.current = ask;
    ask();
    return () => {
      live = false;
    };
  }, [device, load, version, width, height]);
  const body = height - 1;
  const top = Math.max(0, Math.min(scroll, lines.length - body));
  const more = lines.length - top - body;
  return (
    <Box flexDirection="column" height={height} overflow="hidden">
      <Toned tone="title" bold>
        {fit(
          `inspect ${device}${more > 0 || top > 0 ? ` (up/down: lines ${top + 1}-${Math.min(lines.length, top + body)} of ${lines.length})` : ''}; i or esc closes`,
          width,
        )}
      </Toned>
      {lines.slice(top, top + body).map((l, i) => (
        <Toned key={i} tone={l.startsWith(' ') ? 'plain' : 'title'}>
          {fit(l, width)}
        </Toned>
      ))}
    </Box>
  );
}
