// End to end: `dmsim tui --attach` in a real terminal (tmux) against a daemon process. A write typed at the
// prompt to a suspended device is held (the kernel holds bios while a device is suspended, as a mirror with
// handle_errors holds a write until its repair); `resume` typed next must still run and release it. With every
// prompt command on one connection the daemon would serve resume only after the held write: a deadlock.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeImage } from '../../src/block/image.js';
import { type ChildDaemon, ControlClient, spawnDaemon } from '../../src/control/index.js';
import { describeNeeding } from '../support/prerequisites.js';
import { terminalWorkspace, tmuxMissing, until } from '../support/tmux.js';
import { onFileChange, waitFor } from '../support/wait.js';

const root = resolve(import.meta.dirname, '../..');

describeNeeding(tmuxMissing, 'dmsim tui --attach with a held write', () => {
  const { tmux, childTmp } = terminalWorkspace('dmsim-attach');
  let dir = '';
  let daemon: ChildDaemon;
  let client: ControlClient;
  let img = '';
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dmsim-attach-'));
    daemon = await spawnDaemon({ socketPath: join(dir, 'control') });
    client = await ControlClient.connect(daemon.socketPath);
    img = join(dir, 'a.img');
    await makeImage(img, '1M');
    await client.request('create', { name: 'lin', table: `0 2048 linear ${img} 0` });
    await client.request('suspend', { name: 'lin', noflush: false });
  });
  afterAll(async () => {
    client?.close();
    await daemon?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('runs resume from the prompt while a write typed there is held, and the write then completes', async () => {
    const command = `cd ${root}; TMPDIR=${childTmp} NO_COLOR=1 ${process.execPath} --import tsx src/cli/main.ts tui --attach ${daemon.socketPath}`;
    tmux('new-session', '-d', '-s', 'attach', '-x', '80', '-y', '24', command);
    const screen = (): string => tmux('capture-pane', '-p', '-t', 'attach');
    await until('the attached TUI', () => (/attached to/.test(screen()) ? true : undefined), screen, 60_000);
    tmux('send-keys', '-t', 'attach', ':write lin 0 1 0xab', 'Enter');
    await until('the held write', () => (/running: write lin/.test(screen()) ? true : undefined), screen);
    // The image, not the device: a read of the suspended device would be held too.
    expect((await readFile(img)).subarray(0, 512).equals(Buffer.alloc(512)), 'held: nothing written yet').toBe(true);
    tmux('send-keys', '-t', 'attach', 'resume lin', 'Enter'); // the prompt keeps the focus after a command
    const want = Buffer.alloc(512, 0xab);
    await waitFor(
      'the held write to land in the image after resume',
      async () => ((await client.read('lin', 0, 1)).equals(want) ? true : undefined),
      onFileChange(img),
      () => `the screen was:\n${screen()}`,
    );
    const [info] = await client.request('info', { name: 'lin' });
    expect(info!.state).toBe('ACTIVE');
    tmux('send-keys', '-t', 'attach', 'q');
  }, 120_000);
});
