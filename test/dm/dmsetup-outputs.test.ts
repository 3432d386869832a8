// Replays fixtures/kernel/helpers/jobs/outputs.sh against DeviceMapper and compares every answer with what
// dmsetup printed on 6.1 (outputs.out): table and status text, info fields, ls, targets, deps, inactive
// tables, suspend, refusals and their errno, remove EBUSY and remove --force.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/base/events.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import type { MappedBlockDevice } from '../../src/dm/mapped-device.js';
import type { TableLine } from '../../src/dm/table-line.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { outputOf, translateDevices, VDA_SECTORS, VDB_SECTORS } from './kernel-fixtures.js';

const OUT = 'outputs.out';
const VDA = '/dev/vda';
const VDB = '/dev/vdb';

/** The job's create commands, in its order (so minors match the recording). */
const CREATES: [string, string, { readOnly?: boolean; uuid?: string; notable?: boolean }?][] = [
  ['lin', `0 16384 linear ${VDA} 2048`],
  ['multi', `0 100 linear ${VDA} 0\n100 50 zero\n150 25 error\n175 200 linear ${VDB} 8`],
  ['z', '0 2048 zero'],
  ['e', '0 2048 error', { uuid: 'my-uuid-1' }],
  ['fl', `0 1000 flakey ${VDA} 0 10 5`],
  ['fl2', `0 1000 flakey ${VDA} 0 86400 0 1 drop_writes`],
  ['fl3', `0 1000 flakey ${VDA} 0 0 86400 1 error_writes`],
  ['fl4', `0 1000 flakey ${VDA} 0 3 7 5 corrupt_bio_byte 32 r 1 0`],
  ['d3', `0 1000 delay ${VDA} 0 100`],
  ['d6', `0 1000 delay ${VDA} 0 0 ${VDB} 8 5`],
  ['d9', `0 1000 delay ${VDA} 0 1 ${VDB} 0 2 /dev/mapper/lin 16 3`],
  ['ro', `0 64 linear ${VDB} 0`, { readOnly: true }],
  ['stack', '0 8192 linear /dev/mapper/lin 100'],
  ['stack2', '0 4096 linear /dev/mapper/stack 50'],
  ['empty', '', { notable: true }],
];
const MINORS: Record<number, string> = Object.fromEntries(CREATES.map(([name], i) => [i, name]));

const expected = (cmd: string, nth = 0) => outputOf(OUT, cmd, nth).map((l) => translateDevices(l, MINORS));
const plain = (ls: TableLine[]) => ls.map((l) => `${l.start} ${l.length} ${l.target} ${l.params}`);
const prefixed = (ls: TableLine[]) => ls.map((l) => `${l.name}: ${l.start} ${l.length} ${l.target} ${l.params}`);

/** dmsetup info blocks -> field maps. */
function infoBlocks(lines: string[]): Record<string, string>[] {
  const blocks: Record<string, string>[] = [];
  let cur: Record<string, string> | undefined;
  for (const l of lines) {
    if (l === '') cur = undefined;
    // Field lines only ("/dev/mapper/empty: open failed" is dmsetup failing to read the read-ahead).
    const m = /^([A-Z][A-Za-z ,]+):\s+(.*)$/.exec(l);
    if (!m) continue;
    if (m[1] === 'Name') {
      cur = {};
      blocks.push(cur);
    }
    if (cur) cur[m[1]!] = m[2]!;
  }
  return blocks;
}

async function dmsetupInfo(dm: DeviceMapper, name?: string): Promise<Record<string, string>[]> {
  return (await dm.info(name)).map((i) => {
    const b: Record<string, string> = {
      Name: i.name,
      State: i.state + (i.readOnly ? ' (READ-ONLY)' : ''),
      'Tables present': i.tablesPresent,
      'Open count': String(i.openCount),
      'Event number': String(i.eventNr),
      'Major, minor': `${i.major}, ${i.minor}`,
      'Number of targets': String(i.targetCount),
    };
    if (i.uuid !== undefined) b.UUID = i.uuid;
    return b;
  });
}

/** Drops the fields dmsim does not model (Read Ahead needs an open of the node in dmsetup). */
function withoutReadAhead(blocks: Record<string, string>[]): Record<string, string>[] {
  return blocks.map(({ 'Read Ahead': _ra, ...rest }) => rest);
}

describe('dmsetup outputs of the recorded session', () => {
  const dm = new DeviceMapper({ bus: new EventBus() });
  beforeAll(async () => {
    dm.addBackingDevice(VDA, new MemoryDevice(VDA, VDA_SECTORS));
    dm.addBackingDevice(VDB, new MemoryDevice(VDB, VDB_SECTORS));
  });
  afterAll(() => dm.close());

  it('starts with no devices', async () => {
    expect(outputOf(OUT, 'dmsetup ls', 0)).toEqual(['No devices found']);
    expect(dm.ls()).toEqual([]);
    expect(await dm.table()).toEqual([]);
  });

  it('lists the target types in the kernel order with the 6.1 versions', () => {
    const kernel = outputOf(OUT, 'dmsetup targets').map((l) => l.split(/\s+/));
    const ours = new Set(dm.targets().map((t) => t.name));
    expect(dm.targets().map((t) => [t.name, `v${t.version.join('.')}`])).toEqual(kernel.filter(([n]) => ours.has(n!)));
  });

  it('creates the devices with the minors the kernel gave them', async () => {
    for (const [name, table, opts] of CREATES) await dm.create(name, table, opts);
    const kernel = outputOf(OUT, 'dmsetup ls', 1).map((l) => /^(\S+)\t\(253:(\d+)\)$/.exec(l)!.slice(1));
    expect(dm.ls().map((d) => [d.name, String(d.minor)])).toEqual(kernel);
  });

  it('prints every table and status line as the kernel did', async () => {
    const noTable = (l: string) => l !== 'empty: ';
    expect(prefixed(await dm.table())).toEqual(expected('dmsetup table', 1).filter(noTable));
    expect(prefixed(await dm.status())).toEqual(expected('dmsetup status', 1).filter(noTable));
    expect(prefixed(await dm.status(undefined, { target: 'flakey' }))).toEqual(
      expected('dmsetup status --target flakey'),
    );
    expect(prefixed(await dm.table(undefined, { target: 'delay' }))).toEqual(expected('dmsetup table --target delay'));
    expect(plain(await dm.status('multi', { target: 'zero' }))).toEqual(expected('dmsetup status multi --target zero'));
    expect(await dm.table('empty')).toEqual([]);
  });

  it('reports info as the kernel did, open counts of stacked devices included', async () => {
    expect(await dmsetupInfo(dm)).toEqual(withoutReadAhead(infoBlocks(outputOf(OUT, 'dmsetup info', 1))));
    expect((await dm.info()).every((i) => i.readAhead === 256)).toBe(true);
  });

  it('lists the same number of dependencies per device', () => {
    for (const l of outputOf(OUT, 'dmsetup deps')) {
      const [, name, n] = /^(\S+): (\d+) dependencies/.exec(l)!;
      expect(dm.devices(name!).length, name).toBe(Number(n));
    }
    expect(dm.devices('stack2').map((d) => d.name)).toEqual(['/dev/mapper/stack']);
  });

  it('keeps a loaded table inactive until resume', async () => {
    await dm.load('z', '0 4096 zero');
    expect(await dmsetupInfo(dm, 'z')).toEqual(withoutReadAhead(infoBlocks(outputOf(OUT, 'dmsetup info z', 0))));
    expect(plain(await dm.table('z'))).toEqual(expected('dmsetup table z', 0));
    expect(plain(await dm.inactiveTable('z'))).toEqual(expected('dmsetup table --inactive z'));
    await dm.load('empty', '0 8 error');
    expect(await dmsetupInfo(dm, 'empty')).toEqual(
      withoutReadAhead(infoBlocks(outputOf(OUT, 'dmsetup info empty', 1))),
    );
    await dm.resume('empty');
    expect(await dmsetupInfo(dm, 'empty')).toEqual(
      withoutReadAhead(infoBlocks(outputOf(OUT, 'dmsetup info empty', 2))),
    );
  });

  it('suspends and resumes; a suspended device still answers status and table', async () => {
    await dm.suspend('lin');
    expect(await dmsetupInfo(dm, 'lin')).toEqual(withoutReadAhead(infoBlocks(outputOf(OUT, 'dmsetup info lin', 1))));
    expect(plain(await dm.status('lin'))).toEqual(expected('dmsetup status lin'));
    expect(plain(await dm.table('lin'))).toEqual(expected('dmsetup table lin'));
    await dm.resume('lin');
    await dm.suspend('z', { noflush: true });
    await dm.resume('z');
    expect(await dmsetupInfo(dm, 'z')).toEqual(withoutReadAhead(infoBlocks(outputOf(OUT, 'dmsetup info z', 1))));
    expect(plain(await dm.table('z'))).toEqual(expected('dmsetup table z', 1));
  });

  it('refuses messages to targets without a message method, and to unknown devices', async () => {
    for (const name of ['lin', 'fl', 'd3']) {
      expect(outputOf(OUT, `dmsetup message ${name} 0 hello`)[0]).toMatch(/Invalid argument/);
      await expect(dm.message(name, 0, ['hello'])).rejects.toMatchObject({
        code: 'EINVAL',
        message: expect.stringContaining('does not support messages'),
      });
    }
    expect(outputOf(OUT, 'dmsetup message nosuch 0 hello')[0]).toMatch(/No such device or address/);
    await expect(dm.message('nosuch', 0, ['hello'])).rejects.toMatchObject({ code: 'ENXIO' });
  });

  it('refuses a taken name with EBUSY and unknown names with ENXIO', async () => {
    expect(outputOf(OUT, 'dmsetup create lin --table 0 8 zero')[0]).toMatch(/Device or resource busy/);
    await expect(dm.create('lin', '0 8 zero')).rejects.toMatchObject({ code: 'EBUSY' });
    for (const verb of ['table', 'suspend', 'resume', 'remove']) {
      expect(outputOf(OUT, `dmsetup ${verb} nosuch`)[0]).toMatch(/No such device or address/);
    }
    await expect(dm.table('nosuch')).rejects.toMatchObject({ code: 'ENXIO' });
    await expect(dm.suspend('nosuch')).rejects.toMatchObject({ code: 'ENXIO' });
    await expect(dm.resume('nosuch')).rejects.toMatchObject({ code: 'ENXIO' });
    await expect(dm.remove('nosuch')).rejects.toMatchObject({ code: 'ENXIO' });
    await expect(dm.load('nosuch', '0 8 zero')).rejects.toMatchObject({ code: 'ENXIO' });
    await expect(dm.info('nosuch')).rejects.toMatchObject({ code: 'ENXIO' });
  });

  it('refuses to remove devices in use; --force swaps in an error table and still fails', async () => {
    expect(outputOf(OUT, 'dmsetup remove lin')[0]).toMatch(/Device or resource busy/);
    await expect(dm.remove('lin')).rejects.toMatchObject({ code: 'EBUSY' });
    await expect(dm.remove('stack')).rejects.toMatchObject({ code: 'EBUSY' });
    const opened: MappedBlockDevice = await dm.open('stack2');
    expect(await dmsetupInfo(dm, 'stack2')).toEqual(
      withoutReadAhead(infoBlocks(outputOf(OUT, 'dmsetup info stack2', 0))),
    );
    await expect(dm.remove('stack2')).rejects.toMatchObject({ code: 'EBUSY' });
    await expect(dm.remove('stack2', { force: true })).rejects.toMatchObject({ code: 'EBUSY' });
    expect(plain(await dm.table('stack2'))).toEqual(expected('dmsetup table stack2'));
    expect(await dmsetupInfo(dm, 'stack2')).toEqual(
      withoutReadAhead(infoBlocks(outputOf(OUT, 'dmsetup info stack2', 1))),
    );
    // The error table let go of stack: it can go once stack2 is gone.
    await expect(opened.read(0, Buffer.alloc(512))).rejects.toMatchObject({ code: 'EIO' });
    await opened.close();
    await dm.remove('stack2');
    await dm.remove('stack');
  });

  it('remove_all takes everything down', async () => {
    await dm.removeAll();
    expect(outputOf(OUT, 'dmsetup ls', 2)).toEqual(['No devices found']);
    expect(dm.ls()).toEqual([]);
  });
});
