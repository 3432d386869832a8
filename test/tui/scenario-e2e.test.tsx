// End to end: `dmsim tui --scenario` in a real 80x24 terminal (tmux, read back with capture-pane), on lesson
// 02 (snapshot copy-on-write). n plays steps and the narration follows; s starts the first write through
// the origin with kcopyd paused (its COW copy waits), p lets it finish; q quits with status 0 and leaves no
// temporary file (the lesson's images, the control socket) behind. Private tmux server and TMPDIR.

import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';
import { describeNeeding } from '../support/prerequisites.js';
import { terminalWorkspace, tmuxMissing, until } from '../support/tmux.js';

const root = resolve(import.meta.dirname, '../..');
const LESSON = 'fixtures/lessons/02-snapshot-cow.json';
const RAW = JSON.parse(readFileSync(join(root, LESSON), 'utf8')) as {
  steps: Array<{ do: string; device?: string; say?: string }>;
};
const TOTAL = RAW.steps.length;
/** The first write through a mapped device: the origin's first write makes a COW copy. */
const FIRST_DEVICE_WRITE = RAW.steps.findIndex((s) => s.do === 'write' && s.device !== undefined) + 1;

describeNeeding(tmuxMissing, 'dmsim tui --scenario in tmux', () => {
  const { tmux, childTmp, exitFile } = terminalWorkspace('dmsim-lesson-e2e');

  it('plays steps with n, holds a COW copy with s, quits on q leaving nothing behind', async () => {
    const command = [
      `cd ${root}`,
      `TMPDIR=${childTmp} NO_COLOR=1 ${process.execPath} --import tsx src/cli/main.ts tui --scenario ${LESSON}`,
      `echo $? > ${exitFile}`,
      'sleep 30',
    ].join('; ');
    tmux('new-session', '-d', '-s', 'lesson', '-x', '80', '-y', '24', command);
    const screen = (): string => tmux('capture-pane', '-p', '-t', 'lesson');
    const shows = (what: string, test: (s: string) => boolean) =>
      until(what, () => (test(screen()) ? screen() : undefined), screen);

    await shows('the first step', (s) => s.includes(`first: step 1/${TOTAL}:`));
    for (let n = 1; n < FIRST_DEVICE_WRITE; n++) {
      tmux('send-keys', '-t', 'lesson', 'n');
      await shows(`step ${n} ok`, (s) => s.includes(`step ${n}/${TOTAL}:`) && /^ok/m.test(s));
    }
    const devices = await shows(
      'the origin and its snapshot',
      (s) => /^.origin +origin/m.test(s) && /└ snap +snap/m.test(s),
    );
    expect(devices).toContain(`Lesson ${FIRST_DEVICE_WRITE - 1}/${TOTAL} played, all ok`);

    tmux('send-keys', '-t', 'lesson', 's');
    // The snapshot's COW copy is a kcopyd job that cannot finish while kcopyd is paused; the write waits for it.
    const held = await shows(
      'the write held by its COW copy',
      (s) =>
        s.includes('running, kcopyd paused') &&
        /#\d+ +snapsh\S* +(queued|pages|read-q|reading|write-q|writing|finish) /.test(s),
    );
    expect(held).toContain('kcopyd PAUSED');
    expect(held).toContain(`step ${FIRST_DEVICE_WRITE}/${TOTAL}: write`);
    expect(held).toContain(RAW.steps[FIRST_DEVICE_WRITE - 1]!.say!.split(' ').slice(0, 4).join(' '));
    tmux('send-keys', '-t', 'lesson', 'p');
    await shows(
      'the write done',
      (s) => s.includes(`Lesson ${FIRST_DEVICE_WRITE}/${TOTAL} played, all ok`) && /^ok/m.test(s),
    );
    for (const line of screen().split('\n')) expect(line.length).toBeLessThanOrEqual(80);

    tmux('send-keys', '-t', 'lesson', 'q');
    const code = await until(
      'the exit status',
      () => (existsSync(exitFile) ? readFileSync(exitFile, 'utf8').trim() : undefined),
      screen,
    );
    expect(code).toBe('0');
    // The lesson's images (dmsim-scenario-*) and the control socket (dmsim-tui-*) are gone; tsx keeps its cache.
    expect(readdirSync(childTmp).filter((n) => !n.startsWith('tsx-'))).toEqual([]);
  });
});
