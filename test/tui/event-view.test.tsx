// Reading an event in full: a long error that the one-line events list cuts with `~` opens with enter on it
// (focus on the events) or with `show N`, wrapped at 80 columns with every word of its text; any key closes it.

import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { App } from '../../tui/app.js';
import { parseCommand } from '../../tui/command/parse-command.js';
import { ViewStore } from '../../tui/store/store.js';
import { demoState, fakeActions, tick, waitForFrame } from './frame-helpers.js';

const LONG =
  'kcopyd sub-job 7 of job 5 writing /dev/mapper/broken:1024+1024 (destination 1): /dev/mapper/broken: write at sector 1024: the error target fails every I/O (dm-error); heal the device or replace its table';

async function setup(cols: number, rows: number) {
  const store = new ViewStore({ state: demoState() });
  store.dispatch({
    type: 'io.error',
    seq: 5000,
    time: 0,
    device: 'broken',
    op: 'write',
    sector: 1024,
    count: 1024,
    code: 'EIO',
    message: LONG,
    issuer: 'kcopyd sub-job 7 of job 5',
  });
  store.flush();
  const actions = fakeActions();
  const r = render(<App store={store} actions={actions} colour={false} cols={cols} rows={rows} />);
  await tick();
  const press = async (s: string) => {
    r.stdin.write(s);
    await tick();
  };
  return { ...r, store, press };
}

/** The frame's lines joined back into words (wrapping only moved spaces to line ends). */
function words(frame: string): string {
  return frame
    .split('\n')
    .map((l) => l.trim())
    .join(' ');
}

describe('an event opened in full', () => {
  for (const [cols, rows] of [
    [80, 24],
    [120, 40],
  ] as const) {
    it(`at ${cols}x${rows}: the list cuts the long error, enter on it shows all of it wrapped at 80 columns`, async () => {
      const { lastFrame, press, store, unmount } = await setup(cols, rows);
      const n = store.getSnapshot().log.entries[0]!.n;
      const listed = lastFrame()!
        .split('\n')
        .find((l) => l.includes(`${n} `) && l.includes('write error'))!;
      expect(listed).toMatch(/~$/);
      await press('\t');
      await press('\t'); // devices > kcopyd > events
      let f = await waitForFrame(lastFrame, (x) => x.includes(`>${n} `));
      await press('\r');
      f = await waitForFrame(lastFrame, (x) => x.includes('any key closes'));
      expect(f).toContain(`error ${n} at`);
      expect(words(f)).toContain(`write error at sector 1024+1024: ${LONG}`);
      for (const l of f.split('\n')) expect(l.trimEnd().length).toBeLessThanOrEqual(80);
      await press('x');
      f = await waitForFrame(lastFrame, (x) => !x.includes('any key closes'));
      expect(f).toContain('Errors and events');
      unmount();
    });
  }

  it('show N is a command of the line; a number that is not in the list is refused', () => {
    expect(parseCommand('show 12')).toEqual({ verb: 'show', args: { n: 12 } });
    expect(() => parseCommand('show')).toThrow(/N/);
    expect(() => parseCommand('show x')).toThrow(/N/);
  });
});
