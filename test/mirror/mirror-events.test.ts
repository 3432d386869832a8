// The mirror's events on the bus (what the TUI's region map and log are drawn from): region states,
// recovery start/end per region, leg failures and primary switches, the sync ratio and the first 100%.

import { describe, expect, it } from 'vitest';
import type { DmEvent } from '../../src/base/events.js';
import { quiesce, Rig, waitForSync } from './support/harness.js';

function ofType<T extends DmEvent['type']>(events: DmEvent[], type: T): Extract<DmEvent, { type: T }>[] {
  return events.filter((e): e is Extract<DmEvent, { type: T }> => e.type === type);
}

describe('mirror events', () => {
  it('report recovery, sync progress, a leg failure, the primary switch and region states', async () => {
    const rig = new Rig();
    rig.add('/dev/a', 300);
    rig.add('/dev/b', 300);
    const m = await rig.create('mir', 'core 1 64 2 /dev/a 0 /dev/b 0 2 handle_errors keep_log', 256);
    await waitForSync(m);
    const recovery = ofType(rig.events, 'mirror.recovery').map((e) => `${e.phase}${e.region}`);
    expect(recovery).toEqual(['start0', 'end0', 'start1', 'end1', 'start2', 'end2', 'start3', 'end3']);
    const sync = ofType(rig.events, 'mirror.sync');
    expect(sync.filter((e) => e.complete)).toEqual([expect.objectContaining({ device: 'mir', inSync: 4, total: 4 })]);
    expect(sync.map((e) => e.inSync)).toEqual([...sync.map((e) => e.inSync)].sort((a, b) => a - b));

    rig.events.length = 0;
    rig.dev('/dev/a').failWrites = true;
    await m.map({ op: 'write', sector: 70, count: 1, buf: Buffer.alloc(512, 1) });
    await quiesce(rig, m);
    const legs = ofType(rig.events, 'mirror.leg').map((e) => [e.leg, e.reason, e.health, e.defaultLeg]);
    expect(legs).toEqual([
      [0, 'write', 'D', 0],
      [1, 'default', 'A', 1],
    ]);
    const regions = ofType(rig.events, 'mirror.region').map((e) => [e.region, e.state]);
    expect(regions).toEqual([
      [1, 'dirty'],
      [1, 'nosync'],
    ]);
    expect(ofType(rig.events, 'mirror.sync').at(-1)).toMatchObject({ inSync: 3, total: 4, complete: false });
    expect(rig.eventNr.get('mir')).toBe(2); // 100% once, then the leg failure under handle_errors
  });
});
