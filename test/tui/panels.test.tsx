// Frame tests of each panel: what a person reads on the screen, for states built from recorded streams and
// kernel status lines. Expected values come from those inputs (240/2048 is 11% by LVM's rule, 30 of 32
// regions in sync, dest 1's write_err bit), not from the panel's own output.

import { render } from 'ink-testing-library';
import { describe, expect, it } from 'vitest';
import { DevicesPanel } from '../../tui/components/devices-panel.js';
import { Header } from '../../tui/components/header.js';
import { KcopydPanel } from '../../tui/components/kcopyd-panel.js';
import { LogPanel } from '../../tui/components/log-panel.js';
import { MapPanel } from '../../tui/components/map-panel.js';
import { ThroughputPanel } from '../../tui/components/throughput-panel.js';
import { reduceAll } from '../../tui/store/reduce.js';
import { addBytes, advance } from '../../tui/store/throughput.js';
import { initialState } from '../../tui/store/view-state.js';
import { DEMO_DEVICES, demoState } from './frame-helpers.js';
import { loadStream } from './replay.js';

const lines = (f: string | undefined) => (f ?? '').split('\n');

describe('devices panel', () => {
  const state = demoState();

  it('draws the tree: origin above its snapshots, mirror above its legs, with size, state and details', () => {
    const { lastFrame } = render(<DevicesPanel state={state} selected="snap1" focused width={40} height={9} />);
    const f = lines(lastFrame());
    expect(f[0]).toContain('» Devices (7)');
    const names = f
      .slice(1)
      .filter((l) => l.trim() !== '')
      .map((l) => /^[> ]((?:└ )?\S+)/.exec(l)![1]);
    expect(names).toEqual(['base', '└ base-real', '└ snap1', '└ snap2', 'mirror', '└ leg0', '└ leg1']);
    const snap1 = f.find((l) => l.includes('snap1'))!;
    expect(snap1.startsWith('>')).toBe(true); // the selection
    expect(snap1).toMatch(/snap +2M ACT \[#?\.+\] 11%/);
    expect(f.find((l) => l.includes('snap2'))).toContain('Invalid');
    expect(f.find((l) => l.includes('mirror'))).toContain('30/32 AD');
    for (const l of f) expect(l.length).toBeLessThanOrEqual(40);
  });

  it('uses the full words when wide, and marks a suspended device', () => {
    const s = reduceAll(state, [{ type: 'dm.suspended', seq: 1, time: 1, device: 'leg1', noflush: false } as never]);
    const { lastFrame } = render(<DevicesPanel state={s} selected={undefined} focused={false} width={90} height={9} />);
    const f = lastFrame()!;
    expect(f).toContain('snapshot-origin');
    expect(f).toMatch(/leg1 +linear +2\.0M SUSPENDED/); // 4000 sectors = 1.95 MiB
    expect(f).toMatch(/\[#+\.*\] 30\/32 AD/);
  });

  it('scrolls to keep the selection visible and says how many rows are above and below', () => {
    const { lastFrame } = render(<DevicesPanel state={state} selected="snap2" focused={false} width={40} height={4} />);
    const f = lines(lastFrame());
    expect(f[0]).toContain('Devices (7, 1 above, 3 below)');
    expect(f.slice(1).map((l) => /^[> ]((?:└ )?\S+)/.exec(l)![1])).toEqual(['└ base-real', '└ snap1', '└ snap2']);
  });

  it('says how to start when there are no devices', () => {
    const { lastFrame } = render(
      <DevicesPanel state={initialState(0)} selected={undefined} focused={false} width={40} height={4} />,
    );
    expect(lastFrame()).toContain('no devices');
  });
});

describe('kcopyd panel', () => {
  it('shows each client, the page gauge, the queues and the jobs with their error bits', () => {
    // Stop the errors stream before the clients are destroyed: both clients and both jobs are still there.
    const events = loadStream('kcopyd-errors');
    const last = events.findIndex(
      (e) => e.type === 'kcopyd.client' && (e as unknown as { action: string }).action === 'destroying',
    );
    const state = reduceAll(initialState(0), events.slice(0, last));
    const { lastFrame } = render(<KcopydPanel state={state} focused={false} width={40} height={9} />);
    const f = lines(lastFrame());
    expect(f[0]).toContain('kcopyd 2 clients');
    // The default reserve is one sub-job's pages: 128 sectors = 16 pages of 4 KiB.
    expect(f.find((l) => l.startsWith('c1 snapshot'))).toMatch(/pg 0\/16 \[\.+\] q 0 0 0/);
    expect(f.find((l) => l.startsWith('c2 mirror'))).toBeDefined();
    const snapJob = f.find((l) => l.startsWith('#') && l.includes('snapsh'))!;
    expect(snapJob).toMatch(/done/);
    expect(snapJob).toContain('r0 w0x2');
    expect(f.find((l) => l.includes('mirror') && l.startsWith('#'))).toContain('r1 w0x0');
    for (const l of f) expect(l.length).toBeLessThanOrEqual(40);
  });

  it('shows a job waiting for pages while the reserve is used up, with its regions when there is room', () => {
    const events = loadStream('kcopyd-split');
    let n = 0;
    let state = initialState(0);
    for (const e of events) {
      state = reduceAll(state, [e]);
      n++;
      if ([...state.jobs.values()].some((j) => j.stage === 'pages')) break;
    }
    expect(n).toBeLessThan(events.length);
    const { lastFrame } = render(<KcopydPanel state={state} focused width={80} height={10} />);
    const f = lastFrame()!;
    expect(f).toMatch(/pages +\[/);
    expect(f).toMatch(/c1 copy +pg 8\/8 \[#{10}\]/);
    expect(f).toContain('/tmp/src.img:0+640 > /tmp/dst.img:0+640');
  });

  it('says how many clients do not fit rather than dropping them silently', () => {
    const created = [1, 2, 3, 4].map((id) => ({
      type: 'kcopyd.client',
      seq: id,
      time: id,
      client: id,
      owner: 'copy',
      action: 'create',
      reservePages: 128,
      subJobSectors: 1024,
      throttle: 100,
    }));
    const state = reduceAll(initialState(0), created as never[]);
    const { lastFrame } = render(<KcopydPanel state={state} focused={false} width={40} height={6} />);
    const f = lines(lastFrame());
    expect(f.filter((l) => /^c\d copy/.test(l))).toHaveLength(1);
    expect(f).toContain('   ... 3 more clients');
  });
});

describe('map panel', () => {
  it('draws the mirror regions: in sync and, at the end, the two out of sync', () => {
    const { lastFrame } = render(
      <MapPanel state={demoState()} device="mirror" focused={false} width={40} height={5} />,
    );
    const f = lines(lastFrame());
    expect(f[0]).toContain('Map of mirror (32 regions)');
    expect(f[1]).toBe(`${'.'.repeat(30)}xx`);
    expect(f[2]).toContain('in sync 30');
    expect(f[2]).toContain('x nosync 2');
  });

  it('says in full why a device has no map, at the 80-column layout', () => {
    const { lastFrame } = render(
      <MapPanel state={demoState()} device="base-real" focused={false} width={40} height={5} />,
    );
    const f = lines(lastFrame());
    expect(f[1]).toBe(' no map: not a mirror, snapshot or thin');
  });

  it('draws snapshot chunks: pending copy and remapped as they happen', () => {
    const s = reduceAll(demoState(), [
      {
        type: 'snapshot.exception.allocated',
        seq: 1,
        time: 1,
        device: 'snap1',
        oldChunk: 0,
        newChunk: 2,
        chunkSize: 8,
        cause: 'origin-write',
      },
      {
        type: 'snapshot.exception.allocated',
        seq: 2,
        time: 2,
        device: 'snap1',
        oldChunk: 3,
        newChunk: 3,
        chunkSize: 8,
        cause: 'origin-write',
      },
      {
        type: 'snapshot.exception.committed',
        seq: 3,
        time: 3,
        device: 'snap1',
        oldChunk: 0,
        newChunk: 2,
        chunkSize: 8,
        success: true,
      },
    ] as never[]);
    const { lastFrame } = render(<MapPanel state={s} device="snap1" focused={false} width={64} height={12} />);
    const f = lines(lastFrame());
    expect(f[0]).toContain('(512 chunks)');
    expect(f[1]!.slice(0, 5)).toBe('#..p.');
    expect(f.join('\n')).toContain('# remapped 1');
    expect(f.join('\n')).toContain('p pending 1');
  });

  it('scales a large device down, keeping the most urgent state of each group visible', () => {
    const s = reduceAll(initialState(0), [
      DEMO_DEVICES[0]!,
      {
        type: 'tui.device',
        seq: 2,
        time: 2,
        name: 'big',
        table: '0 1048576 mirror core 1 8 2 /tmp/a 0 /tmp/b 0',
        status: '0 1048576 mirror 2 /tmp/a /tmp/b 131072/131072 1 AA 1 core',
        state: 'ACTIVE',
      },
      { type: 'mirror.region', seq: 3, time: 3, device: 'big', region: 70000, state: 'recovering', code: 8 },
    ] as never[]);
    const { lastFrame } = render(<MapPanel state={s} device="big" focused={false} width={40} height={6} />);
    const f = lines(lastFrame());
    const grid = f.slice(1, 5).join('');
    expect(grid.replace(/\./g, '')).toBe('R');
    expect(f[5]).toContain('recovering 1');
  });
});

describe('errors and events panel', () => {
  it('lists newest first with time, level mark and device, and counts what does not fit', () => {
    const state = reduceAll(initialState(0, { logCapacity: 4 }), loadStream('kcopyd-errors'));
    const { lastFrame } = render(<LogPanel state={state} focused={false} scroll={0} width={80} height={4} />);
    const f = lines(lastFrame());
    expect(f[0]).toContain(`Errors and events (${state.log.errors} errors, last 00:00:00`);
    expect(f[1]).toMatch(/^.\d+ \d\d:\d\d:\d\d /);
    expect(f[1]).toContain(state.log.entries[0]!.text.slice(0, 20));
    expect(f[3]).toMatch(/\.\.\. 2 more below, \d+ older folded/);
    expect(
      f.some((l) => /^.\d+ \d\d:\d\d:\d\d E \/tmp\/(bad|src)\.img: /.test(l)) ||
        state.log.entries.slice(0, 2).every((e) => e.level !== 'error'),
    ).toBe(true);
  });
});

describe('throughput panel', () => {
  it('prints the last closed second as a rate and the history as a sparkline', () => {
    let s = initialState(0);
    let t = s.throughput;
    t = addBytes(t, 'copy', 1024 * 1024, 10);
    t = addBytes(t, 'copy', 4 * 1024 * 1024, 1010);
    t = advance(t, 2000);
    s = { ...s, throughput: t };
    const { lastFrame } = render(<ThroughputPanel state={s} focused={false} width={40} height={5} />);
    const f = lines(lastFrame());
    expect(f[3]).toMatch(/^copy +4M\/s +▂█$/);
    expect(f[1]).toMatch(/^read +0B\/s +__$/);
    expect(f[4]).toContain('c 5M');
  });
});

describe('header', () => {
  it('keeps the counts whole at 80 columns: the key hints go first, not cut to "? help ~"', () => {
    const paused = { ...demoState(), paused: true, passes: 771 };
    const f = render(<Header state={paused} mode="demo" local width={80} />).lastFrame()!;
    expect(f).toBe(' dmsim demo | kcopyd PAUSED (s: step) | pass 771 | 7 devices | 0 jobs');
    const running = render(<Header state={demoState()} mode="demo" local width={80} />).lastFrame()!;
    expect(running).toMatch(/^ dmsim demo \| kcopyd running \| pass \d+ \| 7 devices \| 0 jobs \| \? help {2}q quit$/);
  });
});
