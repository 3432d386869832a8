// dmsetup rename against 6.1 (fixtures/transcripts/kernel/reports.txt): the error numbers dmsetup printed for
// each refusal ("rename ioctl on X failed: <strerror>"), and what the kernel's table over a renamed device shows.

import { readFileSync } from 'node:fs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/base/events.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { parseTranscript } from '../e2e/transcript.js';

/** The errno behind the strerror dmsetup printed for a command of the recording. */
function kernelErrno(command: string): string {
  const t = parseTranscript(
    readFileSync(new URL('../../fixtures/transcripts/kernel/reports.txt', import.meta.url), 'utf8'),
  );
  const line = t.steps.find((s) => s.command === command)!.stderr[0]!;
  const errno: Record<string, string> = {
    'Invalid argument': 'EINVAL',
    'Device or resource busy': 'EBUSY',
    'No such device or address': 'ENXIO',
  };
  return errno[/failed: (.*)$/.exec(line)![1]!]!;
}

let dm: DeviceMapper;
let bus: EventBus;
beforeEach(() => {
  bus = new EventBus();
  dm = new DeviceMapper({ bus });
});
afterEach(() => dm.close());

describe('rename against 6.1', () => {
  it('refuses a second uuid (EINVAL), a name in use (EBUSY), a device that is not there (ENXIO)', async () => {
    await dm.create('renamed', '0 8 zero');
    await dm.create('top', '0 8 zero');
    await dm.rename('renamed', { uuid: 'NEW-UUID' });
    await expect(dm.rename('renamed', { uuid: 'NEW-UUID2' })).rejects.toMatchObject({
      code: kernelErrno('dmsim rename renamed --setuuid NEW-UUID2'),
    });
    await expect(dm.rename('renamed', { newName: 'top' })).rejects.toMatchObject({
      code: kernelErrno('dmsim rename renamed top'),
    });
    await expect(dm.rename('nosuch', { newName: 'x' })).rejects.toMatchObject({
      code: kernelErrno('dmsim rename nosuch x'),
    });
    expect((await dm.info('renamed'))[0]?.uuid).toBe('NEW-UUID');
  });

  it('keeps the minor and the tables over it (which print its new name), and says so on the bus', async () => {
    const seen: unknown[] = [];
    bus.on((e) => {
      if (e.type === 'dm.renamed') seen.push({ device: e.device, name: e.name, minor: e.minor });
    });
    await dm.create('base', '0 64 zero');
    await dm.create('top', '0 64 linear /dev/mapper/base 0');
    await dm.rename('base', { newName: 'base2' });
    expect(dm.ls().map((d) => [d.name, d.minor])).toEqual([
      ['base2', 0],
      ['top', 1],
    ]);
    expect((await dm.table('top'))[0]!.params).toBe('/dev/mapper/base2 0');
    await expect(dm.remove('base2')).rejects.toMatchObject({ code: 'EBUSY' }); // top still holds it
    expect(seen).toEqual([{ device: 'base', name: 'base2', minor: 0 }]);
  });
});
