// The store on a stream recorded from the real snapshot and mirror targets (fixtures/events/targets.jsonl.gz,
// made by fixtures/events/record.ts). Expectations come from the scenario and the kernel's documented
// behaviour (snapshot.md: `16/2048 16` fresh, +8 per exception, a 48-sector COW holds 4 chunks, merge done at
// allocated == metadata; failures.out S4: a failed primary gives health DA and leg 1 becomes the default).

import { describe, expect, it } from 'vitest';
import { cellCounts } from '../../tui/store/device-maps.js';
import { reduce } from '../../tui/store/reduce.js';
import { initialState, type ViewState } from '../../tui/store/view-state.js';
import { loadStream } from './replay.js';

const events = loadStream('targets');
const states: ViewState[] = [];
let s = initialState(0);
for (const e of events) {
  s = reduce(s, e);
  states.push(s);
}
const final = states[states.length - 1]!;
const lastWith = (ok: (v: ViewState) => boolean) => [...states].reverse().find(ok)!;
/** The last state before the recorder closed every device. */
const beforeClose = lastWith((v) => v.devices.has('base') && v.devices.has('mirror'));

describe('store: snapshots from the real target', () => {
  it('remaps the six chunks the origin writes touched in snap1, with 8 sectors each on top of 2 metadata chunks', () => {
    const before = lastWith((v) => v.devices.has('snap1'));
    const map = before.maps.get('snap1')!;
    expect(
      [...map.cells]
        .filter(([, c]) => c === 'remapped')
        .map(([i]) => i)
        .sort((a, b) => a - b),
    ).toEqual([0, 2, 4, 6, 8, 10]);
    expect(before.devices.get('snap1')!.snapshot).toMatchObject({ allocated: 16 + 6 * 8, total: 2048, metadata: 16 });
  });

  it('invalidates snap2 when its 48-sector COW (4 data chunks) cannot take a fifth exception, and logs why', () => {
    const snap2 = lastWith((v) => v.devices.has('snap2')).devices.get('snap2')!;
    expect(snap2.snapshot!.invalid).toBe(true);
    const line = final.log.entries.find((e) => e.device === 'snap2' && e.level === 'error')!;
    expect(line.text).toContain('Invalid');
    const invalidAt = states.findIndex((v) => v.devices.get('snap2')?.snapshot?.invalid);
    expect([...states[invalidAt]!.maps.get('snap2')!.cells.values()].filter((c) => c === 'remapped')).toHaveLength(4);
  });

  it('shows the merge: base turns into snapshot-merge, chunks go home, done when allocated == metadata', () => {
    const merging = states.find((v) => v.devices.get('base')?.snapshot?.merging)!;
    expect(merging.devices.get('base')!.target).toBe('snapshot-merge');
    const base = beforeClose.devices.get('base')!.snapshot!;
    expect(base.merging).toBe(false);
    expect(base.allocated).toBe(base.metadata);
    expect(beforeClose.maps.get('base')!.cells.size).toBe(0);
    expect(final.log.entries.some((e) => e.device === 'base' && e.text.startsWith('merge finished'))).toBe(true);
  });

  it('lists the COW copies as jobs of the snapshot client', () => {
    expect(
      states.some((v) => [...v.jobs.values()].some((j) => j.owner === 'snapshot' && j.dests[0]!.startsWith('cow1:'))),
    ).toBe(true);
  });
});

describe('store: a mirror from the real target', () => {
  it('resyncs region by region (recovering cells on the way) to 8/8 of 4096/512 regions', () => {
    expect(states.some((v) => v.maps.get('mirror') && cellCounts(v.maps.get('mirror')!).get('recovering'))).toBe(true);
    const synced = states.find((v) => v.devices.get('mirror')?.mirror?.inSync === 8)!;
    expect(synced.devices.get('mirror')!.mirror).toMatchObject({ regions: 8, health: 'AA' });
    expect(cellCounts(synced.maps.get('mirror')!).get('clean')).toBe(8);
    expect(states.some((v) => [...v.jobs.values()].some((j) => j.owner === 'mirror'))).toBe(true);
  });

  it('a failed write to the primary leg: health DA, leg 1 becomes the default, one region out of sync', () => {
    const m = beforeClose.devices.get('mirror')!.mirror!;
    expect(m.health).toBe('DA');
    expect(m.primary).toBe(1);
    expect(m.inSync).toBe(7);
    expect(cellCounts(beforeClose.maps.get('mirror')!).get('nosync')).toBe(1);
    const texts = final.log.entries.filter((e) => e.device === 'mirror').map((e) => e.text);
    expect(texts).toContain('primary switched to leg 1 (/dev/mapper/leg1)');
    expect(texts.some((t) => t.startsWith('leg 0 (/dev/mapper/leg0) write failure'))).toBe(true);
    expect(beforeClose.devices.get('leg0')!.target).toBe('error');
  });
});
