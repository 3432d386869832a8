// Frame tests of the thin rows and the thin map. The devices panel is fed the status lines Linux 6.1 printed
// (../shared/reference/thin.md §2: `1 114/1024 11/1024 44 rw ...` after reserve_metadata_snap, a thin at
// `896 32767`); the map is fed the events an embedded engine emitted while lesson 14 played, and must show what
// the kernel's rule says: blocks mapped before create_snap are shared, a write breaks one share.

import { join, resolve } from 'node:path';
import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { type DmEvent, EventBus } from '../../src/base/events.js';
import { loadScenario, ScenarioPlayer } from '../../src/scenario/index.js';
import { DevicesPanel } from '../../tui/components/devices-panel.js';
import { MapPanel } from '../../tui/components/map-panel.js';
import { thinPoolTone } from '../../tui/components/thin-lines.js';
import { cellCounts } from '../../tui/store/device-maps.js';
import type { EngineEvent } from '../../tui/store/engine-event.js';
import { reduceAll } from '../../tui/store/reduce.js';
import { initialState } from '../../tui/store/view-state.js';
import { deviceEvent } from './frame-helpers.js';

const lines = (f: string | undefined) => (f ?? '').split('\n');

const KERNEL_DEVICES: EngineEvent[] = [
  deviceEvent('meta', '0 8192 linear /tmp/meta.img 0', '0 8192 linear '),
  deviceEvent('data', '0 131072 linear /tmp/data.img 0', '0 131072 linear '),
  deviceEvent(
    'pool',
    '0 131072 thin-pool /dev/mapper/meta /dev/mapper/data 128 16 0 ',
    '0 131072 thin-pool 1 114/1024 11/1024 44 rw discard_passdown queue_if_no_space - 256 ',
  ),
  deviceEvent('thin0', '0 32768 thin /dev/mapper/pool 0', '0 32768 thin 896 32767'),
];

describe('thin rows in the devices panel', () => {
  const state = reduceAll(initialState(0), KERNEL_DEVICES);

  it('puts the pool over its thin devices and its data and metadata devices, with a pool line under it', () => {
    const { lastFrame } = render(<DevicesPanel state={state} selected="thin0" focused width={80} height={8} />);
    const f = lines(lastFrame());
    const names = f
      .slice(1)
      .map((l) => /^[> ]((?:└ )?\S+)/.exec(l)?.[1])
      .filter((n) => n !== undefined);
    expect(names).toEqual(['pool', '└ data', '└ meta', '└ thin0']);
    const poolLine = f.find((l) => l.trimStart().startsWith('data ['))!;
    // 11 of 1024 data blocks and 114 of 1024 metadata blocks; transaction id 1; rw.
    expect(poolLine).toMatch(/data \[\.+\] 11\/1024 meta \[#\.+\] 114\/1024 tx 1 rw$/);
    // 896 of 32768 sectors mapped: 2%.
    expect(f.find((l) => l.includes('thin0'))).toMatch(/thin0 +thin +16M +ACTIVE +\[\.+\] 2% mapped/);
    for (const l of f) expect(l.length).toBeLessThanOrEqual(80);
  });

  it('keeps the numbers at 40 columns, dropping bars first, and marks a pool that cannot write', () => {
    const full = reduceAll(state, [
      deviceEvent(
        'pool',
        '0 131072 thin-pool /dev/mapper/meta /dev/mapper/data 128 16 0 ',
        '0 131072 thin-pool 0 112/1024 16/16 - out_of_data_space discard_passdown queue_if_no_space - 256 ',
      ),
    ]);
    const { lastFrame } = render(<DevicesPanel state={full} selected="pool" focused width={40} height={8} />);
    const f = lines(lastFrame());
    const poolLine = f.find((l) => l.includes('16/16') && l.includes('meta'))!;
    expect(poolLine).toContain('112/1024');
    expect(poolLine.length).toBeLessThanOrEqual(40);
    expect(f.find((l) => l.startsWith('>pool'))).toMatch(/ 16\/16 bl/);
    expect(poolLine).toMatch(/tx 0 out_o/);
  });
});

describe('the pool tone', () => {
  const pool = (status: string) =>
    reduceAll(initialState(0), [
      deviceEvent('pool', '0 2048 thin-pool /tmp/m.img /tmp/d.img 128 4 0 ', `0 2048 thin-pool ${status}`),
    ]).devices.get('pool')!.thinPool!;

  it('is an error when the pool cannot allocate, a warning at the low water mark, plain otherwise', () => {
    // Lines as 6.1 printed them (thin.md §2.1) on a 16-block pool with low water mark 4.
    expect(thinPoolTone(pool('0 112/1024 16/16 - out_of_data_space discard_passdown queue_if_no_space - 256 '))).toBe(
      'error',
    );
    expect(thinPoolTone(pool('0 62/64 11043/16384 - ro discard_passdown queue_if_no_space needs_check 16 '))).toBe(
      'error',
    );
    expect(thinPoolTone(pool('0 112/1024 12/16 - rw discard_passdown queue_if_no_space - 256 '))).toBe('warn');
    expect(thinPoolTone(pool('0 112/1024 11/16 - rw discard_passdown queue_if_no_space - 256 '))).toBe('plain');
  });
});

describe('the map of a thin device, from the events of lesson 14', () => {
  it('shows blocks mapped, then shared after create_snap, and one share broken by a write', async () => {
    const lesson = join(resolve(import.meta.dirname, '../../fixtures/lessons'), '14-thin-snapshot-sharing.json');
    const scenario = await loadScenario(lesson);
    const bus = new EventBus();
    const events: DmEvent[] = [];
    bus.on((e) => events.push(e));
    const player = ScenarioPlayer.embedded(scenario, { bus });
    const writeToShared = scenario.steps.find(
      (s) => s.do === 'write' && 'device' in s.to && s.to.device === 'vol' && s.sector === 8,
    )!;
    let played = 0;
    try {
      while (player.position < writeToShared.number) expect((await player.next()).ok).toBe(true);
      played = events.length; // closing removes the devices: those events are not part of the picture
    } finally {
      await player.close();
    }
    // The devices as the controller would snapshot them, then the engine's events.
    const devices = [
      deviceEvent(
        'pool',
        '0 8192 thin-pool /tmp/meta.img /tmp/data.img 128 0 0 ',
        '0 8192 thin-pool 0 112/1024 8/64 - rw discard_passdown queue_if_no_space - 256 ',
      ),
      deviceEvent('vol', '0 16384 thin /dev/mapper/pool 0', '0 16384 thin 1024 1023'),
      deviceEvent('snap', '0 16384 thin /dev/mapper/pool 1', '0 16384 thin 1024 1023'),
    ];
    const state = reduceAll(reduceAll(initialState(0), devices), events.slice(0, played) as EngineEvent[]);
    const vol = state.maps.get('vol')!;
    const snap = state.maps.get('snap')!;
    // 16384 sectors / 128 = 128 blocks; 8 written, all shared once the snapshot exists; block 0 is vol's own again.
    expect(vol.size).toBe(128);
    expect(Object.fromEntries(cellCounts(vol))).toEqual({ unmapped: 120, shared: 7, mapped: 1 });
    expect(vol.cells.get(0)).toBe('mapped');
    expect(Object.fromEntries(cellCounts(snap))).toEqual({ unmapped: 120, shared: 8 });

    const { lastFrame } = render(<MapPanel state={state} device="vol" focused width={40} height={5} />);
    const f = lastFrame()!;
    expect(f).toContain('Map of vol (128 blocks)');
    expect(f).toContain('# mapped 1');
    expect(f).toContain('s shared 7');
  });
});
