// End to end: `dmsim tui --demo` in a real terminal (tmux), read back with capture-pane. The screen must show
// kcopyd jobs, page gauges and an error; `q` must quit with status 0 and leave no process and no temporary
// file behind. Runs the sources through tsx, in a private tmux server, with its own TMPDIR.

import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { expect, it } from 'vitest';
import { describeNeeding } from '../support/prerequisites.js';
import { terminalWorkspace, tmuxMissing, until } from '../support/tmux.js';

const root = resolve(import.meta.dirname, '../..');

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describeNeeding(tmuxMissing, 'dmsim tui --demo in tmux', () => {
  const { tmux, childTmp, exitFile } = terminalWorkspace('dmsim-e2e');

  it('shows jobs, pages and an error, quits on q, and leaves nothing behind', async () => {
    const command = [
      `cd ${root}`,
      `TMPDIR=${childTmp} NO_COLOR=1 ${process.execPath} --import tsx src/cli/main.ts tui --demo --pace 0.3`,
      `echo $? > ${exitFile}`,
      'sleep 30',
    ].join('; ');
    tmux('new-session', '-d', '-s', 'demo', '-x', '100', '-y', '30', command);
    const screen = (): string => tmux('capture-pane', '-p', '-t', 'demo');
    const pid = await until(
      'the node process',
      () => {
        const panePid = tmux('display-message', '-p', '-t', 'demo', '#{pane_pid}').trim();
        const out = (() => {
          try {
            return execFileSync('pgrep', ['-P', panePid, 'node'], { encoding: 'utf8' }).trim();
          } catch {
            return '';
          }
        })();
        return out ? Number(out.split('\n')[0]) : undefined;
      },
      screen,
      20_000,
      250,
    );
    const shown = await until(
      'jobs, pages and an error on the screen',
      () => {
        const s = screen();
        const job = /#\d+ +\w+ +(queue|pages|read|write|done) +\[/.test(s);
        const pages = /pg \d+\/\d+/.test(s);
        const error = /\(([1-9]\d*) errors, last \d\d:\d\d:\d\d \S+/.test(s) || /^.\d+ \d\d:\d\d:\d\d E /m.test(s);
        return job && pages && error ? s : undefined;
      },
      screen,
      45_000,
      250,
    );
    expect(shown).toMatch(/kcopyd \d+ clients/);
    // NO_COLOR: no colour escape sequences at all.
    expect(tmux('capture-pane', '-p', '-e', '-t', 'demo')).not.toMatch(
      new RegExp(`${String.fromCharCode(27)}\\[(3|4|9)\\dm`),
    );

    const during = readdirSync(childTmp);
    expect(during.some((n) => n.startsWith('dmsim-demo-'))).toBe(true);
    expect(during.some((n) => n.startsWith('dmsim-tui-'))).toBe(true);

    tmux('send-keys', '-t', 'demo', 'q');
    const code = await until(
      'the exit status',
      () => (existsSync(exitFile) ? readFileSync(exitFile, 'utf8').trim() : undefined),
      screen,
      20_000,
      250,
    );
    expect(code).toBe('0');
    expect(alive(pid)).toBe(false);
    // The demo's images (dmsim-demo-*) and the private control socket (dmsim-tui-*) are gone; tsx keeps its cache.
    expect(readdirSync(childTmp).filter((n) => !n.startsWith('tsx-'))).toEqual([]);
  });
});
