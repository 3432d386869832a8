// Errors and events panel: newest first, each with its number, time and device; a burst of the same event shows
// as one line with a count, and lines pushed out of the bounded list are counted at the bottom, never lost.
// With the focus here, the top line is the selected one (up/down move it; enter opens it in full).

import { Box } from 'ink';
import { clock, fit } from '../format.js';
import type { LogEntry, ViewState } from '../store/view-state.js';
import { Panel } from './panel.js';
import { Toned } from './theme.js';

/** `>12 10:05:01 E dev: text (x2)`: the entry's number (show N opens it), `>` on the selected one. */
function logLine(e: LogEntry, selected: boolean, width: number): string {
  const mark = e.level === 'error' ? 'E' : e.level === 'warn' ? 'W' : ' ';
  const repeat = e.repeat > 1 ? ` (x${e.repeat})` : '';
  const device = e.device ? `${e.device}: ` : '';
  // A text of several lines (a status explanation) shows its first line here; enter opens the rest.
  const [first, ...more] = e.text.split('\n');
  const rest = more.length > 0 ? ' [+]' : '';
  return fit(`${selected ? '>' : ' '}${e.n} ${clock(e.time)} ${mark} ${device}${first}${rest}${repeat}`, width);
}

export interface LogPanelProps {
  state: ViewState;
  focused: boolean;
  /** Lines scrolled down from the newest. */
  scroll: number;
  width: number;
  height: number;
}

export function LogPanel({ state, focused, scroll, width, height }: LogPanelProps) {
  const { entries, folded, errors, lastError } = state.log;
  const body = Math.max(0, height - 1);
  const start = Math.max(0, Math.min(scroll, entries.length - 1));
  // The last line tells what does not fit: entries below the window and entries folded out of the list.
  const overflow = folded > 0 || entries.length - start > body;
  const shown = entries.slice(start, start + body - (overflow ? 1 : 0));
  const below = entries.length - start - shown.length;
  return (
    <Panel
      title="Errors and events"
      info={`(${errors} errors${lastError ? `, last ${clock(lastError.time)}${lastError.device ? ` ${lastError.device}` : ''}` : ''})`}
      focused={focused}
      width={width}
      height={height}
    >
      <Box flexDirection="column">
        {shown.map((e, i) => (
          <Toned key={i} tone={e.level === 'error' ? 'error' : e.level === 'warn' ? 'warn' : 'plain'}>
            {logLine(e, focused && i === 0, width)}
          </Toned>
        ))}
        {overflow ? <Toned tone="dim">{fit(`... ${below} more below, ${folded} older folded`, width)}</Toned> : null}
      </Box>
    </Panel>
  );
}
