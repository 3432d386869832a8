// Edge behaviours of the dm core replayed from fixtures/kernel/helpers/edges.out (jobs/edges.sh on 6.1).

import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/base/events.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { outputOf, transcript, VDA_SECTORS, VDB_SECTORS } from './kernel-fixtures.js';

const OUT = 'edges.out';
/** The kernel's dmesg reason for a command of the recording. */
const reason = (cmdStart: string) => {
  const b = transcript(OUT).find((x) => x.cmd.startsWith(cmdStart))!;
  const m = b.dmesg
    .map((l) => /^device-mapper: (?:table: 253:\d+: |ioctl: )(.*?)(?: \(-E[A-Z]+\))?\.?$/.exec(l))
    .find(Boolean);
  return m![1]!;
};
const rc = (cmd: string) => transcript(OUT).find((x) => x.cmd === cmd)!.rc;

let dm: DeviceMapper;
beforeEach(() => {
  dm = new DeviceMapper({ bus: new EventBus() });
  dm.addBackingDevice('/dev/vda', new MemoryDevice('/dev/vda', VDA_SECTORS));
  dm.addBackingDevice('/dev/vdb', new MemoryDevice('/dev/vdb', VDB_SECTORS));
});
afterEach(() => dm.close());

describe('dm core edges against 6.1', () => {
  it('a later line that fails its constructor wins over an earlier line too big for its device', async () => {
    await expect(dm.create('order1', '0 70000 linear /dev/vda 0\n70000 8 nosuchtarget')).rejects.toThrow(
      `line 2: ${reason('dmsetup create order1')}`,
    );
    await expect(dm.create('order2', '0 70000 linear /dev/vda 0\n70000 8 linear /dev/vda x')).rejects.toThrow(
      `line 2: ${reason('dmsetup create order2')}`,
    );
  });

  it('refuses an empty reload and keeps the live table', async () => {
    await dm.create('a', '0 64 zero');
    expect(reason('dmsetup load a')).toBe('populate_table: no targets specified');
    await expect(dm.load('a', '')).rejects.toMatchObject({
      code: 'EINVAL',
      message: expect.stringContaining('no targets'),
    });
    expect((await dm.info('a'))[0]!.tablesPresent).toBe('LIVE');
  });

  it('checks the message sector before the target type', async () => {
    await dm.create('a', '0 64 zero');
    await expect(dm.message('a', 64, ['hello'])).rejects.toThrow(reason('dmsetup message a 64').replace(/\.$/, ''));
    await expect(dm.message('a', 63, ['hello'])).rejects.toThrow(reason('dmsetup message a 63'));
  });

  it('removes a suspended device', async () => {
    await dm.create('a', '0 64 zero');
    await dm.suspend('a');
    expect(rc('dmsetup remove a')).toBe(0);
    await dm.remove('a');
    expect(outputOf(OUT, 'dmsetup ls', 0)).toEqual(['No devices found']);
    expect(dm.ls()).toEqual([]);
  });

  it('a suspended device without a table cannot be resumed and stays suspended', async () => {
    await dm.create('nt', '', { notable: true });
    await dm.suspend('nt');
    expect(outputOf(OUT, 'dmsetup resume nt')[0]).toMatch(/Invalid argument/);
    await expect(dm.resume('nt')).rejects.toMatchObject({ code: 'EINVAL' });
    const kernel = outputOf(OUT, 'dmsetup info nt', 1).find((l) => l.startsWith('State:'))!;
    expect(kernel).toMatch(/SUSPENDED$/);
    expect((await dm.info('nt'))[0]!.state).toBe('SUSPENDED');
  });

  it('a write to a read-only device fails with EPERM', async () => {
    await dm.create('ro', '0 64 linear /dev/vdb 0', { readOnly: true });
    expect(outputOf(OUT, 'dd if=/dev/zero of=/dev/mapper/ro bs=4096 count=1 oflag=direct status=none')[0]).toMatch(
      /Operation not permitted/,
    );
    const dev = await dm.open('ro');
    await expect(dev.write(0, Buffer.alloc(4096))).rejects.toMatchObject({ code: 'EPERM' });
    await dev.close();
  });

  it('the size changes at resume, not at load; clear drops the inactive table', async () => {
    await dm.create('rs', '0 64 linear /dev/vdb 0');
    const dev = await dm.open('rs');
    const sizes = transcript(OUT)
      .filter((b) => b.cmd === 'blockdev --getsz /dev/mapper/rs')
      .map((b) => Number(b.lines[0]));
    const ours = [dev.sizeSectors];
    await dm.load('rs', '0 128 linear /dev/vdb 0');
    ours.push(dev.sizeSectors);
    await dm.clear('rs');
    expect((await dm.info('rs'))[0]!.tablesPresent).toBe('LIVE');
    await dm.load('rs', '0 128 linear /dev/vdb 0');
    await dm.resume('rs');
    ours.push(dev.sizeSectors);
    expect(ours).toEqual(sizes);
    await dev.close();
  });
});
