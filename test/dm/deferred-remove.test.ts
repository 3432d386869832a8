// Deferred remove (dmsetup remove --deferred, DM_DEFERRED_REMOVE) against the kernel's recording
// fixtures/dmsetup-dropin/kernel/deferred.txt: an open device is marked and stays (info says so), goes when its
// last opener closes, `@cancel_deferred_remove` takes the mark back (and answers success with no mark), and a
// device nobody holds goes at once.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/base/events.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { formatInfo } from '../../src/control/dmsetup-format.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { parseTranscript } from '../e2e/transcript.js';
import { onBus, waitFor } from '../support/wait.js';

const kernel = parseTranscript(
  readFileSync(fileURLToPath(new URL('../../fixtures/dmsetup-dropin/kernel/deferred.txt', import.meta.url)), 'utf8'),
);
/** The nth recorded step whose command is `command`. */
const recorded = (command: string, nth = 0) => kernel.steps.filter((s) => s.command === command)[nth]!;

let bus: EventBus;
let dm: DeviceMapper;
beforeEach(async () => {
  bus = new EventBus();
  dm = new DeviceMapper({ bus });
  dm.addBackingDevice('D1', new MemoryDevice('D1', 16384));
  await dm.create('lin', '0 8192 linear D1 0');
});
afterEach(() => dm.close());

const gone = (name: string) =>
  waitFor(
    `${name} to be removed`,
    () => (dm.ls().some((d) => d.name === name) ? undefined : true),
    onBus(bus),
    () => JSON.stringify(dm.ls()),
  );

const infoText = async (name: string) =>
  formatInfo((await dm.info(name)).map((i) => ({ ...i, uuid: i.uuid ?? '' })))
    .split('\n')
    .slice(0, -1);

describe('remove --deferred', () => {
  it('marks an open device, which info shows, and cancelling takes the mark back', async () => {
    const opener = await dm.open('lin');
    expect(recorded('dmsim remove lin').exit).not.toBe(0);
    await expect(dm.remove('lin')).rejects.toMatchObject({ code: 'EBUSY' });
    expect(recorded('dmsim remove --deferred lin').exit).toBe(0);
    await dm.remove('lin', { deferred: true });
    expect(await infoText('lin')).toEqual(recorded('dmsim info lin', 0).stdout);
    expect(dm.ls().map((d) => d.name)).toEqual(['lin']);
    expect(recorded('dmsim message lin 0 @cancel_deferred_remove', 0).exit).toBe(0);
    expect(await dm.message('lin', 0, ['@cancel_deferred_remove'])).toBe('');
    expect(await infoText('lin')).toEqual(recorded('dmsim info lin', 1).stdout);
    // 6.1 answers a cancel with nothing to cancel with success too.
    expect(recorded('dmsim message lin 0 @cancel_deferred_remove', 1).exit).toBe(0);
    expect(await dm.message('lin', 0, ['@cancel_deferred_remove'])).toBe('');
    // Cancelled: closing the last opener leaves the device in place.
    await opener.close();
    expect(dm.ls().map((d) => d.name)).toEqual(['lin']);
  });

  it('removes the device when its last opener closes', async () => {
    const first = await dm.open('lin');
    const second = await dm.open('lin');
    await dm.remove('lin', { deferred: true });
    await first.close();
    expect((await dm.info('lin'))[0]).toMatchObject({ openCount: 1, deferredRemove: true });
    await second.close();
    await gone('lin');
    expect(recorded('sleep 5; dmsim info lin').stderr).toContain('Device does not exist.');
    await expect(dm.info('lin')).rejects.toMatchObject({ code: 'ENXIO' });
  });

  it('removes a device nobody holds at once', async () => {
    expect(recorded('dmsim ls', 2).stdout).toEqual(['No devices found']);
    await dm.remove('lin', { deferred: true });
    expect(dm.ls()).toEqual([]);
  });

  it('a device held by the table above goes once that device is removed', async () => {
    await dm.create('top', '0 4096 linear /dev/mapper/lin 0');
    await dm.remove('lin', { deferred: true });
    expect((await dm.info('lin'))[0]!.deferredRemove).toBe(true);
    await dm.remove('top');
    await gone('lin');
  });
});
