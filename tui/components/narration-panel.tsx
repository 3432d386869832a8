// Narration of a lesson (`dmsim tui --scenario FILE`): the title line says how far the lesson is (or that it
// is over), then the step shown — number/total and what it does — its `say` sentence word-wrapped, and its
// outcome: running, ok (with what it saw), or not ok with the reason.

import { Box } from 'ink';
import { fit } from '../format.js';
import type { LessonView } from '../lesson-driver.js';
import { Panel } from './panel.js';
import { type Tone, Toned } from './theme.js';

/** Words of `text` in lines of at most `width` characters (a word longer than that is cut). */
function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = '';
    }
    line = line ? `${line} ${word}` : fit(word, width);
  }
  if (line) lines.push(line);
  return lines;
}

function lessonTitle(v: LessonView): string {
  const tally = `${v.played}/${v.total} played, ${v.notOk === 0 ? 'all ok' : `${v.notOk} not ok`}`;
  if (v.ended === 'done') return `Lesson over: ${tally}. q quits`;
  if (v.ended === 'stopped') return `Lesson stopped at step ${v.step?.number}: ${tally}. q quits`;
  return `Lesson ${tally} (n: next step, s: step kcopyd) ${v.title}`;
}

/** The last line: what became of the step shown. */
function outcomeLine(v: LessonView, paused: boolean): [Tone, string] {
  if (v.running) return ['busy', paused ? 'running, kcopyd paused: s runs one worker pass, p resumes' : 'running...'];
  const o = v.outcome;
  if (!o) return ['dim', 'press n to play it, or s to start it with kcopyd paused'];
  if (!o.ok)
    return [
      'error',
      `not ok: ${o.reason ?? 'no reason given'}${o.bail ? ' (what follows depends on it: the lesson stops)' : ''}`,
    ];
  return ['ok', `ok${o.detail ? `: ${o.detail.split('\n')[0]}` : ''}`];
}

function narrationLines(v: LessonView, paused: boolean, width: number, height: number): Array<[Tone, string]> {
  const body = Math.max(1, height - 1);
  const s = v.step;
  if (!s) return [['dim', fit('this lesson has no steps', width)]];
  const head = `${v.played === 0 && !v.running ? 'first: ' : ''}step ${s.number}/${v.total}: ${s.title}`;
  const room = Math.max(0, body - 2);
  const say = s.say ? wrapWords(s.say, width - 2) : [];
  const shown =
    say.length <= room ? say : room === 0 ? [] : [...say.slice(0, room - 1), fit(`${say[room - 1]!} ...`, width - 2)];
  const [tone, out] = outcomeLine(v, paused);
  const lines: Array<[Tone, string]> = [
    ['plain', fit(head, width)],
    ...shown.map((l): [Tone, string] => ['plain', `  ${l}`]),
    [tone, fit(out, width)],
  ];
  return lines.slice(0, body);
}

/** Rows the narration takes: room for a sentence of three lines at 80x24, more on a taller terminal. */
export function narrationRows(rows: number): number {
  return Math.max(6, Math.min(9, Math.floor(rows / 4)));
}

export function NarrationPanel({
  view,
  paused,
  width,
  height,
}: {
  view: LessonView;
  paused: boolean;
  width: number;
  height: number;
}) {
  return (
    <Panel title={fit(lessonTitle(view), width - 2)} width={width} height={height}>
      <Box flexDirection="column">
        {narrationLines(view, paused, width, height).map(([tone, text], i) => (
          <Toned key={i} tone={tone}>
            {text}
          </Toned>
        ))}
      </Box>
    </Panel>
  );
}
