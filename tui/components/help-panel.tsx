// Help: the keys and the command-line verbs, shown in place of the panels until a key is pressed.

import { Box } from 'ink';
import { USAGE } from '../command/parse-command.js';
import { fit } from '../format.js';
import { Toned } from './theme.js';

export const KEYS: Array<[string, string]> = [
  ['p', 'pause / resume kcopyd (every worker pass stops)'],
  ['s', 'step one kcopyd worker pass while paused'],
  ['tab', 'move focus: devices, kcopyd, events, command line'],
  ['up/down', 'select a device (its map is shown) / scroll events'],
  [':', 'type a command (esc leaves, up/down: history)'],
  ['?', 'this help (any key closes it)'],
  ['q', 'quit: devices closed, temporary files removed'],
];

export function helpLines(): string[] {
  return [
    'Keys',
    ...KEYS.map(([k, what]) => `  ${k.padEnd(8)} ${what}`),
    'Commands',
    ...Object.values(USAGE).map((u) => `  ${u}`),
  ];
}

export function HelpPanel({ width, height }: { width: number; height: number }) {
  const lines = helpLines();
  // Two columns when the help does not fit in one.
  const columns = lines.length > height && width >= 100 ? 2 : 1;
  const per = Math.ceil(lines.length / columns);
  const colWidth = Math.floor(width / columns);
  return (
    <Box height={height} overflow="hidden">
      {Array.from({ length: columns }, (_, c) => (
        <Box key={c} flexDirection="column" width={colWidth}>
          {lines.slice(c * per, (c + 1) * per).map((l, i) => (
            <Toned key={i} tone={l.startsWith(' ') ? 'plain' : 'title'} bold={!l.startsWith(' ')}>
              {fit(l, colWidth - 1)}
            </Toned>
          ))}
        </Box>
      ))}
    </Box>
  );
}
