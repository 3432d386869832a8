// End to end: the TUI's inspector in a real terminal (tmux) at 80x24 and 120x40, attached to a daemon that holds
// the state of two oracle jobs replayed through `dmsim`: a snapshot after p8-basic.sh's origin writes
// (fixtures/snapshot/kernel/p8-basic.txt) and a mirror after disk-log.sh's failed leg write
// (fixtures/inspect/kernel/disk-log.out). The inspector must show the numbers the kernel's status lines imply.

import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildCli, CLI_MAIN, type DaemonHandle, makeBinDir, REPO, runShell, startDaemon } from '../e2e/cli-harness.js';
import { describeNeeding } from '../support/prerequisites.js';
import { terminalWorkspace, tmuxMissing, until } from '../support/tmux.js';

const kernelSnapshot = /--- after origin writes\norigin: .*\nsnap: 0 2048 snapshot (\S+ \d+)/.exec(
  readFileSync(join(REPO, 'fixtures/snapshot/kernel/p8-basic.txt'), 'utf8'),
)![1]!;
const kernelMirror = /^STATUS failed 0 4000 mirror .* (\d+\/\d+) 1 AD /m.exec(
  readFileSync(join(REPO, 'fixtures/inspect/kernel/disk-log.out'), 'utf8'),
)![1]!;

describeNeeding(tmuxMissing, 'the inspector in tmux', () => {
  const { tmux } = terminalWorkspace('dmsim-inspect');
  let work: string;
  let env: NodeJS.ProcessEnv;
  let socket: string;
  let daemon: DaemonHandle;

  beforeAll(async () => {
    buildCli();
    work = await mkdtemp(join(tmpdir(), 'dmsim-inspector-'));
    const bin = await makeBinDir(work);
    socket = join(work, 'control');
    env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, DMSIM_SOCKET: socket };
    daemon = await startDaemon(socket, env);
    const setup = await runShell(
      [
        'set -e',
        'for f in origin.img:1M cow.img:1M leg0.img:2M leg1.img:2M log.img:64K; do dmsim mkimg ${f%:*} ${f#*:} >/dev/null; done',
        'dmsim create origin --table "0 2048 snapshot-origin $PWD/origin.img"',
        'dmsim suspend origin',
        'dmsim create snap --table "0 2048 snapshot $PWD/origin.img $PWD/cow.img P 8"',
        'dmsim resume origin',
        // p8-basic.sh's origin writes: chunks 3, 0, 255, then chunk 3 again.
        'dmsim write origin 24 8 0x4e && dmsim write origin 0 8 0x4e',
        'dmsim write origin 2040 8 0x4e && dmsim write origin 24 8 0x4f',
        'dmsim create leg1 --table "0 4096 flakey $PWD/leg1.img 0 86400 0"',
        'dmsim create m --table "0 4000 mirror disk 2 $PWD/log.img 128 2 $PWD/leg0.img 0 /dev/mapper/leg1 0"',
        'dmsim wait m --for sync --timeout 60',
        'dmsim suspend leg1',
        'dmsim load leg1 --table "0 4096 flakey $PWD/leg1.img 0 0 86400 1 error_writes"',
        'dmsim resume leg1',
        'dmsim write m 384 8 0x57',
      ].join('\n'),
      { cwd: work, env },
    );
    expect(setup.stderr).toBe('');
    expect(setup.exit).toBe(0);
  }, 300_000);

  afterAll(async () => {
    await daemon?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  for (const [cols, rows] of [
    [80, 24],
    [120, 40],
  ] as const) {
    it(`shows the snapshot and mirror inspectors with the kernel's numbers at ${cols}x${rows}`, {
      timeout: 120_000,
    }, async () => {
      const session = `i${cols}`;
      const command = `NO_COLOR=1 ${process.execPath} ${CLI_MAIN} tui --attach ${socket}; sleep 30`;
      tmux('new-session', '-d', '-s', session, '-x', String(cols), '-y', String(rows), command);
      const screen = (): string => tmux('capture-pane', '-p', '-t', session);
      const shows = (what: string, test: (s: string) => boolean) =>
        until(what, () => (test(screen()) ? screen() : undefined), screen, 30_000, 200);
      await shows('the devices', (s) => /snap/.test(s) && /leg1/.test(s));

      tmux('send-keys', '-t', session, ':inspect snap', 'Enter');
      // Until the engine's answer is drawn (the view first says it is asking).
      const snap = await shows('the snapshot inspector', (s) => s.includes('inspect snap') && s.includes('  status '));
      // "after origin writes": 40/2048 16 = next free chunk 5 x 8, header + area 0 = 2 x 8; chunks 3, 0, 255.
      expect(snap).toContain(`status ${kernelSnapshot}`);
      expect(snap).toContain('next free chunk 5');
      expect(snap).toContain('area 0 holds 3');
      expect(snap).toMatch(/ 3 -> 2 +0 -> 3 +255 -> 4/);
      expect(snap).toContain('header   magic 0x70416e53');
      if (rows >= 40) expect(snap).toMatch(/kcopyd client \d+ \(snapshot\)/);
      for (const line of snap.split('\n')) expect(line.length).toBeLessThanOrEqual(cols);

      tmux('send-keys', '-t', session, 'Escape');
      await shows('the panels again', (s) => !s.includes('inspect snap'));
      tmux('send-keys', '-t', session, ':inspect m', 'Enter');
      const mirror = await shows(
        'the mirror inspector',
        (s) => s.includes('inspect m') && s.includes('status in-sync'),
      );
      expect(mirror).toContain(`status in-sync ${kernelMirror}`);
      // The failed write's region (3) is dirty on disk and out of sync in core.
      expect(mirror).toContain(`on disk  1110${'1'.repeat(28)}`);
      expect(mirror).toContain(`in core  CCCN${'C'.repeat(28)}`);
      expect(mirror).toContain('header   magic 0x4d695272');
      if (rows >= 40) expect(mirror).toMatch(/kcopyd client \d+ \(mirror\)/);

      // i on the selected device opens it too, and i closes it.
      tmux('send-keys', '-t', session, 'i');
      await shows('the panels again', (s) => !s.includes('inspect m'));
      tmux('send-keys', '-t', session, 'i');
      await shows('the selected device inspected', (s) => /inspect \S+.*i or esc closes/.test(s));
      tmux('send-keys', '-t', session, 'q');
      tmux('kill-session', '-t', session);
    });
  }
});
