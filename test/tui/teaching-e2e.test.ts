// End to end in a real terminal (tmux, read back with capture-pane) at 80x24 and 120x40: what issue 14 asks a
// student to see. Lesson 02: the origin's first write started with s holds its COW copy, an unsplit kcopyd job,
// and each s runs one worker pass: the job line shows every stage it waits in between passes (queued on
// pages_jobs, write-q on io_jobs after its read, finish on complete_jobs after its write, done). Then the
// snapshot's status change is explained (sectors_allocated 16→24 and the exception behind it) and
// `show N` opens it in full. Lesson 01: the failing destination's error names its sub-job and job, and
// `show N` shows its whole text, which the events list cuts.

import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';
import { describeNeeding } from '../support/prerequisites.js';
import { terminalWorkspace, tmuxMissing, until } from '../support/tmux.js';

const root = resolve(import.meta.dirname, '../..');
const steps = (lesson: string) =>
  (JSON.parse(readFileSync(join(root, lesson), 'utf8')) as { steps: Array<{ do: string; device?: string }> }).steps;
const COW = 'fixtures/lessons/02-snapshot-cow.json';
const FIRST_DEVICE_WRITE = steps(COW).findIndex((s) => s.do === 'write' && s.device !== undefined) + 1;
const ERRORS = 'fixtures/lessons/01-kcopyd-basics.json';
/** The copy with a failing destination (/dev/mapper/broken). */
const FAILING_COPY = steps(ERRORS).findIndex((s) => s.do === 'copy' && 'writeErr' in s) + 1;
const WAIT_MS = 60_000;

/** The screen's lines joined back into one text (wrapping only moved spaces to line ends). */
function words(screen: string): string {
  return screen
    .split('\n')
    .map((l) => l.trim())
    .join(' ');
}

describeNeeding(tmuxMissing, 'teaching views in tmux', () => {
  const { tmux, childTmp, exitFile } = terminalWorkspace('dmsim-teach-e2e');

  function start(session: string, lesson: string, cols: number, rows: number) {
    const command = [
      `cd ${root}`,
      `TMPDIR=${childTmp} NO_COLOR=1 ${process.execPath} --import tsx src/cli/main.ts tui --scenario ${lesson}`,
      `echo $? > ${exitFile}-${session}`,
      'sleep 30',
    ].join('; ');
    tmux('new-session', '-d', '-s', session, '-x', String(cols), '-y', String(rows), command);
    const screen = (): string => tmux('capture-pane', '-p', '-t', session);
    const shows = (what: string, test: (s: string) => boolean) =>
      until(what, () => (test(screen()) ? screen() : undefined), screen, WAIT_MS);
    const keys = (k: string) => tmux('send-keys', '-t', session, k);
    const play = async (n: number, total: number) => {
      keys('n');
      await shows(`step ${n} ok`, (s) => s.includes(`step ${n}/${total}:`) && /^ok/m.test(s));
    };
    /**
     * The entry numbers of the events matching each pattern (group 1: the number), found by focusing the events
     * panel and moving down its list until every one went by (the panel is two lines tall at 80x24).
     */
    const findEvents = async (patterns: RegExp[]): Promise<string[]> => {
      keys('Tab');
      keys('Tab'); // devices > kcopyd > events
      const found = new Map<number, string>();
      let selected: string | undefined;
      for (let down = 0; found.size < patterns.length; down++) {
        expect(down).toBeLessThan(40);
        // Each Down must have moved the selection (`>N` at the list's top) before the screen is read again.
        await shows('the events panel with the selection moved', (x) => {
          const now = /^>(\d+) /m.exec(x)?.[1];
          if (now === undefined || now === selected) return false;
          selected = now;
          patterns.forEach((re, i) => {
            const m = re.exec(x);
            if (m) found.set(i, m[1]!);
          });
          return x.includes('Errors and events');
        });
        if (found.size < patterns.length) keys('Down');
      }
      return patterns.map((_, i) => found.get(i)!);
    };
    return { screen, shows, keys, play, findEvents };
  }

  for (const [cols, rows] of [
    [80, 24],
    [120, 40],
  ] as const) {
    it(`${cols}x${rows}: every stage of a COW copy stepped pass by pass, then its status change explained`, async () => {
      const total = steps(COW).length;
      const { shows, keys, play, screen, findEvents } = start(`cow${cols}`, COW, cols, rows);
      await shows('the first step', (s) => s.includes(`first: step 1/${total}:`));
      for (let n = 1; n < FIRST_DEVICE_WRITE; n++) await play(n, total);
      keys('s');
      const stage = /#\d+ +snapsh\S* +(\S+) /;
      // Between passes the job rests on a list; while its read or write is in flight (real files) it shows reading
      // or writing until the I/O completes by itself. s is pressed only once it rests.
      const resting = ['queued', 'pages', 'write-q', 'finish', 'done'];
      const seen: string[] = [];
      for (let presses = 0; seen.at(-1) !== 'done'; presses++) {
        expect(presses).toBeLessThan(20);
        const before = seen.length;
        await shows('the COW job resting on a new list', (x) => {
          const now = stage.exec(x)?.[1];
          if (now !== undefined && now !== seen.at(-1)) seen.push(now);
          return seen.length > before && resting.includes(seen.at(-1)!);
        });
        if (seen.at(-1) !== 'done') keys('s');
      }
      expect(seen.filter((w) => resting.includes(w))).toEqual(['queued', 'write-q', 'finish', 'done']);
      expect(seen.join(' ')).toMatch(/^queued (reading )?write-q (writing )?finish done$/);
      await shows('the write step done', (x) => /^ok/m.test(x) && x.includes(`step ${FIRST_DEVICE_WRITE}/${total}`));

      // The status change, listed (cut at 80 columns) and opened in full with show N.
      const [n] = await findEvents([/^.(\d+) \S+ {3}snap: status sectors_allocated 16→24: exception/m]);
      keys(`:show ${n}`);
      keys('Enter');
      const opened = await shows('the change opened', (x) => x.includes('any key closes') && x.includes('because:'));
      const text = words(opened);
      expect(text).toContain('old: 0 2048 snapshot 16/2048 16');
      expect(text).toContain('new: 0 2048 snapshot 24/2048 16');
      expect(text).toContain('sectors_allocated 16→24');
      expect(text).toMatch(
        /because: exception for origin chunk 0 prepared in COW chunk 2 \(origin write\); its COW copy is kcopyd job \d+/,
      );
      for (const line of screen().split('\n')) expect(line.length).toBeLessThanOrEqual(cols);
      keys('x');
      await shows('the panels back', (x) => x.includes('Errors and events'));
      keys('q');
    }, 240_000);

    it(`${cols}x${rows}: a failing destination's error names its sub-job and job, and show N reads it whole`, async () => {
      const total = steps(ERRORS).length;
      const { shows, keys, play, findEvents } = start(`err${cols}`, ERRORS, cols, rows);
      await shows('the first step', (s) => s.includes(`first: step 1/${total}:`));
      for (let n = 1; n <= FAILING_COPY; n++) await play(n, total);
      // Two sub-jobs of 1024 sectors each failed on broken: two lines, each with its own range.
      // kcopyd's lines, not the device's own error of the same request (its text is the error target's).
      const line = (first: number) =>
        new RegExp(`^.(\\d+) \\S+ E \\S+: write error at sector ${first}\\+1024: kcopyd`, 'm');
      const [first, n] = await findEvents([line(0), line(1024)]);
      expect(first).not.toBe(n);
      keys(`:show ${n}`);
      keys('Enter');
      const opened = await shows(
        'the error opened',
        (x) => x.includes(`error ${n} at`) && x.includes('any key closes'),
      );
      expect(words(opened)).toMatch(
        /write error at sector 1024\+1024: kcopyd sub-job (\d+) of job (\d+) writing \S+:1024\+1024 \(destination 1\): \S/,
      );
      for (const l of opened.split('\n')) expect(l.trimEnd().length).toBeLessThanOrEqual(80);
      keys('x');
      keys('q');
    }, 240_000);
  }
});
