// End to end: lesson 14 (thin snapshots) in `dmsim tui --scenario` in a real 80x24 terminal (tmux, read back
// with capture-pane). After the write that breaks sharing the devices panel shows the pool line with the
// kernel's numbers for that step (9 of 64 data blocks, transaction 0, rw: fixtures/lessons/oracle/lessons.out)
// and the two thin devices under the pool; selecting the volume shows its map: 1 block its own, 7 shared with
// the snapshot, the rest unmapped. q quits with status 0. Private tmux server and TMPDIR.

import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { expect, it } from 'vitest';
import { describeNeeding } from '../support/prerequisites.js';
import { terminalWorkspace, tmuxMissing, until } from '../support/tmux.js';

const root = resolve(import.meta.dirname, '../..');
const LESSON = 'fixtures/lessons/14-thin-snapshot-sharing.json';
const RAW = JSON.parse(readFileSync(join(root, LESSON), 'utf8')) as {
  steps: Array<{ do: string; device?: string; sector?: number }>;
};
const TOTAL = RAW.steps.length;
/** The 4 KiB write into the volume's shared block 0. */
const BREAK = RAW.steps.findIndex((s) => s.do === 'write' && s.device === 'vol' && s.sector === 8) + 1;

describeNeeding(tmuxMissing, 'a thin lesson in tmux at 80x24', () => {
  const { tmux, childTmp, exitFile } = terminalWorkspace('dmsim-thin-e2e');

  it('shows the pool line, the thin devices under the pool, and the shared blocks of the volume', async () => {
    const command = [
      `cd ${root}`,
      `TMPDIR=${childTmp} NO_COLOR=1 ${process.execPath} --import tsx src/cli/main.ts tui --scenario ${LESSON}`,
      `echo $? > ${exitFile}`,
      'sleep 30',
    ].join('; ');
    tmux('new-session', '-d', '-s', 'thin', '-x', '80', '-y', '24', command);
    const screen = (): string => tmux('capture-pane', '-p', '-t', 'thin');
    const shows = (what: string, test: (s: string) => boolean) =>
      until(what, () => (test(screen()) ? screen() : undefined), screen);

    await shows('the first step', (s) => s.includes(`step 1/${TOTAL}:`));
    for (let n = 1; n <= BREAK; n++) {
      tmux('send-keys', '-t', 'thin', 'n');
      await shows(`step ${n} played`, (s) => s.includes(`Lesson ${n}/${TOTAL} played, all ok`));
    }
    const devices = await shows(
      'the pool line with 9 of 64 blocks, and both thin devices under the pool',
      (s) => /^ +data .*9\/64 meta .*\/1024 tx 0 rw/m.test(s) && /└ vol +thin/m.test(s) && /└ snap +thin/m.test(s),
    );
    for (const line of devices.split('\n')) expect(line.length).toBeLessThanOrEqual(80);

    // Select the volume (the pool, then snap, then vol) and read its map's legend.
    for (let i = 0; i < 3; i++) tmux('send-keys', '-t', 'thin', 'Down');
    await shows(
      'the map of vol: 1 block its own, 7 shared, 120 unmapped',
      (s) =>
        s.includes('Map of vol (128 blocks)') &&
        s.includes('. unmapped 120') &&
        s.includes('# mapped 1') &&
        s.includes('s shared 7'),
    );

    tmux('send-keys', '-t', 'thin', 'q');
    const code = await until(
      'the exit status',
      () => (existsSync(exitFile) ? readFileSync(exitFile, 'utf8').trim() : undefined),
      screen,
    );
    expect(code).toBe('0');
  });
});
