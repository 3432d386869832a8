// Help: the keys and the command-line verbs, shown in place of the panels until a key is pressed.

import { Box } from 'ink';
import { USAGE } from '../command/parse-command.js';
import { fit } from '../format.js';
import { Toned } from './theme.js';

const KEYS: Array<[string, string]> = [
  ['p', 'pause / resume kcopyd (every worker pass stops)'],
  ['s', 'step one kcopyd worker pass while paused'],
  ['n', 'lesson: play the next step (s: start it with kcopyd paused)'],
  ['tab', 'move focus: devices, kcopyd, events, command line'],
  ['up/down', 'select a device (its map is shown) / select an event'],
  ['enter', 'events: open the selected event in full (show N does too)'],
  ['i', 'inspect the selected device: COW store, mirror log, kcopyd lists'],
  [':', 'type a command (esc leaves, up/down: history)'],
  ['?', 'this help (any key closes it)'],
  ['q', 'quit: devices closed, temporary files removed'],
];

const LEGEND = [
  'Reading the panels',
  '  kcopyd  pg used/reserve+shared pages, q pages_jobs io_jobs complete_jobs',
  '  jobs    stage, [progress] sub-jobs done/total+in flight, r/w error bits;',
  '          stages: queued, pages (waiting), read-q, reading, write-q, writing,',
  '          finish (on complete_jobs), done',
  '  map     . in sync (mirror) or not remapped (snapshot), d dirty,',
  '          R recovering, x out of sync, # remapped, p copy pending, m merging',
];

/**
 * Keys and the legend, then every command's usage when there is room; else the keys, the command words, and the
 * legend last (the part a short screen may cut: the verbs must stay readable at 80x24).
 */
export function helpLines(width: number, height: number): string[] {
  const keys = ['Keys', ...KEYS.map(([k, what]) => `  ${k.padEnd(8)} ${what}`)];
  const usages = Object.values(USAGE).map((u) => `  ${u}`);
  if (keys.length + LEGEND.length + 1 + usages.length <= height && usages.every((u) => u.length <= width))
    return [...keys, ...LEGEND, 'Commands', ...usages];
  const words: string[] = [];
  let line = ' ';
  for (const verb of Object.keys(USAGE)) {
    if (line.length + verb.length + 1 > width) {
      words.push(line);
      line = ' ';
    }
    line += ` ${verb}`;
  }
  words.push(line);
  return [...keys, 'Commands (help VERB shows its usage)', ...words, ...LEGEND];
}

export function HelpPanel({ width, height }: { width: number; height: number }) {
  return (
    <Box flexDirection="column" height={height} overflow="hidden">
      {helpLines(width, height)
        .slice(0, height)
        .map((l, i) => (
          <Toned key={i} tone={l.startsWith(' ') ? 'plain' : 'title'} bold={!l.startsWith(' ')}>
            {fit(l, width)}
          </Toned>
        ))}
    </Box>
  );
}
