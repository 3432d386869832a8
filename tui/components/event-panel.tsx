// One event of the errors-and-events list opened to read in full (enter on it, or `show N`): its number, level,
// time and device, then its whole text wrapped at 80 columns (or the screen's width when narrower), so nothing
// the one-line list cut with `~` is lost. Any key closes it.

import { Box } from 'ink';
import { clock, fit, wrap } from '../format.js';
import type { LogEntry } from '../store/view-state.js';
import { Toned } from './theme.js';

const TEXT_COLUMNS = 80;

function eventLines(e: LogEntry, width: number): string[] {
  const level = e.level === 'error' ? 'error' : e.level === 'warn' ? 'warning' : 'event';
  const where = e.device ? ` on ${e.device}` : '';
  const repeat = e.repeat > 1 ? ` (${e.repeat} events in a row)` : '';
  return [
    `${level} ${e.n} at ${clock(e.time)}${where}${repeat}: any key closes`,
    ...wrap(e.text, Math.min(TEXT_COLUMNS, width)),
  ];
}

export function EventPanel({ entry, width, height }: { entry: LogEntry; width: number; height: number }) {
  const lines = eventLines(entry, width);
  const shown = lines.length > height ? [...lines.slice(0, height - 1), '...'] : lines;
  return (
    <Box flexDirection="column" height={height} overflow="hidden">
      {shown.map((l, i) => (
        <Toned key={i} tone={i === 0 ? 'title' : entry.level === 'error' ? 'error' : 'plain'} bold={i === 0}>
          {fit(l, width)}
        </Toned>
      ))}
    </Box>
  );
}
