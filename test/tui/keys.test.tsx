// The keys and the command line, through ink-testing-library: each key reaches the action it names, focus
// moves with tab, arrows select, ? shows help, and text typed on the command line never triggers a key.

import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { App } from '../../tui/app.js';
import { parseCommand } from '../../tui/command/parse-command.js';
import { ViewStore } from '../../tui/store/store.js';
import { demoState, fakeActions, tick, waitForFrame } from './frame-helpers.js';

const ESC = '\u001b';
const UP = '\u001b[A';
const DOWN = '\u001b[B';

async function setup(run?: (line: string) => Promise<string>) {
  const store = new ViewStore({ state: demoState() });
  const actions = fakeActions(run);
  const r = render(<App store={store} actions={actions} colour={false} cols={80} rows={24} />);
  await tick(); // useInput subscribes in an effect
  const type = async (s: string) => {
    for (const ch of s) {
      r.stdin.write(ch);
      await tick();
    }
  };
  const press = async (s: string) => {
    r.stdin.write(s);
    await tick();
  };
  return { ...r, store, actions, type, press };
}

describe('keys', () => {
  it('fits 80x24 with one line to spare', async () => {
    const { lastFrame, unmount } = await setup();
    const f = lastFrame()!.split('\n');
    expect(f.length).toBeLessThanOrEqual(23);
    for (const l of f) expect(l.length).toBeLessThanOrEqual(80);
    unmount();
  });

  it('p pauses (through the engine) and shows what happened', async () => {
    const { press, actions, lastFrame, unmount } = await setup();
    await press('p');
    expect(actions.calls).toEqual(['pause']);
    expect(await waitForFrame(lastFrame, (f) => f.includes('kcopyd paused'))).toBeTruthy();
    unmount();
  });

  it('s steps one worker pass', async () => {
    const { press, actions, lastFrame, unmount } = await setup();
    await press('s');
    expect(actions.calls).toEqual(['step']);
    await waitForFrame(lastFrame, (f) => f.includes('ran one worker pass'));
    unmount();
  });

  it('a refused key shows an error line', async () => {
    const { press, lastFrame, unmount, actions } = await setup();
    actions.step = () => {
      throw new Error('step: the daemon runs kcopyd elsewhere');
    };
    await press('s');
    await waitForFrame(lastFrame, (f) => f.includes('error: step: the daemon runs kcopyd elsewhere'));
    unmount();
  });

  it('? shows the help and any key closes it', async () => {
    const { press, lastFrame, unmount, actions } = await setup();
    await press('?');
    const help = await waitForFrame(lastFrame, (f) => f.includes('Keys'));
    expect(help).toContain('pause / resume kcopyd');
    expect(help).not.toContain('Devices (7)');
    await press('p'); // closes the help, does not pause
    await waitForFrame(lastFrame, (f) => f.includes('Devices (7)'));
    expect(actions.calls).toEqual([]);
    unmount();
  });

  it('tab moves the focus mark through devices, kcopyd, events and the command line', async () => {
    const { press, lastFrame, unmount } = await setup();
    expect(lastFrame()).toContain('» Devices');
    await press('\t');
    await waitForFrame(lastFrame, (f) => f.includes('» kcopyd') && !f.includes('» Devices'));
    await press('\t');
    await waitForFrame(lastFrame, (f) => f.includes('» Errors and events'));
    await press('\t');
    await waitForFrame(lastFrame, (f) => /^: _$/m.test(f));
    await press('\t');
    await waitForFrame(lastFrame, (f) => f.includes('» Devices'));
    unmount();
  });

  it('arrows select a device and the map follows the selection', async () => {
    const { press, lastFrame, unmount } = await setup();
    expect(lastFrame()).toMatch(/^>base /m);
    await press(DOWN);
    await press(DOWN);
    const f = await waitForFrame(lastFrame, (x) => /^>└ snap1/m.test(x));
    expect(f).toContain('Map of snap1 (512 chunks)');
    await press(UP);
    await waitForFrame(lastFrame, (x) => /^>└ base-real/m.test(x));
    unmount();
  });

  it('q quits through the engine', async () => {
    const { press, actions, unmount } = await setup();
    await press('q');
    expect(actions.calls).toEqual(['quit']);
    unmount();
  });
});

describe('command line', () => {
  it('typing p, s, q and ? there is text, not keys; enter runs the line', async () => {
    const { type, press, actions, lastFrame, unmount } = await setup();
    await press(':');
    await type('suspend q?ps');
    await waitForFrame(lastFrame, (f) => f.includes(': suspend q?ps_'));
    expect(actions.calls).toEqual([]);
    await press('\r');
    expect(actions.calls).toEqual(['run suspend q?ps']);
    await waitForFrame(lastFrame, (f) => f.includes('ran suspend q?ps'));
    unmount();
  });

  it('a chunk of typed-ahead text (":ls" and Enter in one read) focuses, types and runs', async () => {
    const { press, actions, lastFrame, unmount } = await setup();
    await press(':status snap1\rp');
    expect(actions.calls).toEqual(['run status snap1']);
    await waitForFrame(lastFrame, (f) => f.includes(': p_'));
    unmount();
  });

  it('shows why a line was refused, with the usage', async () => {
    const { type, press, lastFrame, unmount } = await setup(async (line) => {
      parseCommand(line);
      return 'ok';
    });
    await press(':');
    await type('write base 0 8 0x1ff');
    await press('\r');
    const f = await waitForFrame(lastFrame, (x) => x.includes('error:'));
    expect(f).toContain("error: write: BYTE must be 0..255 or 0x00..0xff, not '0x1ff'");
    await type('frobnicate');
    await press('\r');
    await waitForFrame(lastFrame, (x) => x.includes("error: unknown command 'frobnicate'"));
    unmount();
  });

  it('up and down walk the history; backspace edits; esc leaves', async () => {
    const { type, press, lastFrame, unmount, actions } = await setup();
    await press(':');
    await type('ls');
    await press('\r');
    await type('status base');
    await press('\r');
    await press(UP);
    await waitForFrame(lastFrame, (f) => f.includes(': status base_'));
    await press(UP);
    await waitForFrame(lastFrame, (f) => f.includes(': ls_'));
    await press(DOWN);
    await press(DOWN);
    await waitForFrame(lastFrame, (f) => /^: _$/m.test(f));
    await type('lsx');
    await press('\u007f');
    await waitForFrame(lastFrame, (f) => f.includes(': ls_'));
    await press(ESC);
    await waitForFrame(lastFrame, (f) => f.includes('» Devices'));
    await press('p'); // a key again once the command line has lost the focus
    expect(actions.calls).toEqual(['run ls', 'run status base', 'pause']);
    unmount();
  });

  it('multi-line output goes to the events panel, first line on the message line', async () => {
    const { type, press, lastFrame, unmount } = await setup(
      async () => 'base: 0 4096 snapshot-origin /dev/mapper/base-real\nsnap1: 0 4096 snapshot 240/2048 16',
    );
    await press(':');
    await type('status');
    await press('\r');
    const f = await waitForFrame(lastFrame, (x) => x.includes('(2 lines in events) base: 0 4096'));
    const out = f.split('\n').filter((l) => /^.\d+ \d\d:\d\d:\d\d {3}> /.test(l));
    expect(out[0]).toContain('> base: 0 4096 snapshot-origin');
    expect(out[1]).toContain('> snap1: 0 4096 snapshot 240/2048 16');
    unmount();
  });

  it('closing the inspector (i or esc) takes its hint off the message line', async () => {
    const { press, lastFrame, unmount, actions } = await setup();
    actions.inspect = async () => [];
    for (const close of ['i', ESC]) {
      await press('i');
      await waitForFrame(lastFrame, (f) => f.includes('inspecting base: up/down scroll'));
      await press(close);
      const f = await waitForFrame(lastFrame, (x) => x.includes('» Devices'));
      expect(f).not.toContain('inspecting base');
    }
    unmount();
  });
});
