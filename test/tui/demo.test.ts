// The demo script, run fast (--pace 0.05) against the embedded engine without a screen: every phase the
// issue asks for happens (COW copies, a snapshot invalidated, a leg failure with a primary switch, the
// mirror rebuilt on a new leg, a merge, a new snapshot), and quitting removes its temporary files.

import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { TuiController } from '../../tui/controller.js';
import { Demo } from '../../tui/demo.js';
import { startEmbedded } from '../../tui/session.js';
import { realTimer, ViewStore } from '../../tui/store/store.js';
import { initialState, type ViewState } from '../../tui/store/view-state.js';
import { waitFor } from '../support/wait.js';

let controller: TuiController | undefined;
afterEach(async () => {
  await controller?.quit();
});

const said = (s: ViewState, text: string) => s.log.entries.some((e) => e.text.includes(text));

describe('demo', () => {
  it('plays every phase and cleans up on quit', async () => {
    const session = await startEmbedded({
      sharedPoolPages: 256,
      makeEngine: (bus, kcopyd) => new DeviceMapper({ bus, kcopyd }),
    });
    const store = new ViewStore({ state: initialState(Date.now(), { logCapacity: 5000 }), timer: realTimer });
    controller = new TuiController(session, store, 'demo');
    await controller.start();
    const demo = await Demo.start(controller, { timer: realTimer, pace: 0.05 });
    const s = await waitFor(
      'the demo to reach steady load (or stop)',
      () => {
        store.flush();
        const now = store.getSnapshot();
        return said(now, 'demo: steady load') || said(now, 'demo: demo stopped') ? now : undefined;
      },
      store.subscribe,
      () =>
        `the log's last lines:\n${store
          .getSnapshot()
          .log.entries.slice(-10)
          .map((e) => e.text)
          .join('\n')}`,
      50_000,
    );
    expect(said(s, 'demo stopped')).toBe(false);
    expect(said(s, 'demo: steady load')).toBe(true);

    // COW copies ran as kcopyd jobs of the snapshot clients; the small COW was invalidated.
    expect(s.log.entries.some((e) => e.device === 'snap2' && e.level === 'error' && e.text.includes('Invalid'))).toBe(
      true,
    );
    // The primary leg failed and leg 1 took over; the mirror now runs on leg1 and leg2.
    expect(
      s.log.entries.some((e) => e.device === 'mirror' && e.text === 'primary switched to leg 1 (/dev/mapper/leg1)'),
    ).toBe(true);
    expect(s.devices.get('mirror')!.mirror!.legs).toEqual(['/dev/mapper/leg1', '/dev/mapper/leg2']);
    expect(s.devices.get('leg0')).toMatchObject({ failed: false, target: 'delay' });
    // The merge finished and the origin is an origin again, with a new snapshot.
    expect(s.log.entries.some((e) => e.device === 'base' && e.text.startsWith('merge finished'))).toBe(true);
    expect(s.devices.get('base')!.target).toBe('snapshot-origin');
    expect([...s.devices.keys()].sort()).toEqual(['base', 'base-real', 'leg0', 'leg1', 'leg2', 'mirror', 'snap3']);

    await controller.quit();
    expect(existsSync(demo.dir)).toBe(false);
  });
});
