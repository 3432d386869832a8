// Random tables for the stateful targets that test/dm/table-parser.test.ts's fuzzing does not name: snapshot,
// snapshot-origin, snapshot-merge and mirror (core and disk logs), over real devices with data on them. Every
// table is built or refused with a DmError, a refused load leaves the device's live table as it was, and no
// table, built or refused, changes a byte of the devices it names (constructors only read until resumed;
// the COW and log here are kept invalid so no store is formatted).

import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DmError } from '../../src/base/errors.js';
import { EventBus } from '../../src/base/events.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { writeData } from './support/sector-model.js';

describe('random snapshot and mirror tables', () => {
  let dm: DeviceMapper;
  const disks = ['/dev/o', '/dev/c', '/dev/l', '/dev/a', '/dev/b'].map((n) => {
    const d = new MemoryDevice(n, 512);
    return { name: n, dev: d };
  });
  beforeAll(async () => {
    dm = new DeviceMapper({ bus: new EventBus() });
    for (const { name, dev } of disks) {
      await dev.write(0, writeData(0, 512, 9));
      dm.addBackingDevice(name, dev);
    }
  });
  afterAll(() => dm.close());

  const word = fc.oneof(
    fc.constantFrom('0', '1', '2', '3', '8', '16', '64', '512', '-1', '18446744073709551616', 'x', '', '\\'),
    fc.constantFrom(
      '/dev/o',
      '/dev/c',
      '/dev/l',
      '/dev/a',
      '/dev/b',
      '/dev/mapper/g',
      '/dev/mapper/nope',
      'P',
      'PO',
      'N',
      'p',
      'core',
      'disk',
    ),
    fc.constantFrom(
      'sync',
      'nosync',
      'handle_errors',
      'keep_log',
      'snapshot',
      'snapshot-origin',
      'snapshot-merge',
      'mirror',
    ),
    fc.string({ maxLength: 5 }),
  );
  const params = fc.array(word, { maxLength: 14 }).map((ws) => ws.join(' '));
  const randomLine = fc
    .tuple(
      fc.constantFrom('0', '1', 'x'),
      fc.constantFrom('64', '512', '513', '0', '-8'),
      fc.constantFrom('snapshot', 'snapshot-origin', 'snapshot-merge', 'mirror'),
      params,
    )
    .map(([s, l, t, p]) => `${s} ${l} ${t} ${p}`);
  // Valid lines, kept or with one word replaced, dropped or inserted: most of the refusals sit one word away.
  const templates = [
    '0 64 snapshot-origin /dev/o',
    '0 64 snapshot /dev/o /dev/c N 8',
    '0 64 snapshot /dev/o /dev/c P 8',
    '0 64 mirror core 1 8 2 /dev/a 0 /dev/b 0',
    '0 64 mirror core 2 8 nosync 3 /dev/a 0 /dev/b 0 /dev/o 0 1 handle_errors',
    '0 64 mirror disk 2 /dev/l 8 2 /dev/a 0 /dev/b 0 2 handle_errors keep_log',
  ];
  const mutated = fc
    .tuple(fc.constantFrom(...templates), fc.nat(), word, fc.constantFrom('keep', 'replace', 'drop', 'insert'))
    .map(([t, at, w, how]) => {
      const ws = t.split(' ');
      const i = at % ws.length;
      if (how === 'replace') ws[i] = w;
      else if (how === 'drop') ws.splice(i, 1);
      else if (how === 'insert') ws.splice(i, 0, w);
      return ws.join(' ');
    });
  const line = fc.oneof(randomLine, mutated);
  const table = fc.array(line, { minLength: 1, maxLength: 2 }).map((ls) => ls.join('\n'));

  it('builds or refuses with a DmError, keeps the live table, and writes nothing to the devices', async () => {
    await dm.create('g', '0 64 zero');
    const outcomes = { built: 0, refused: 0 };
    await fc.assert(
      fc.asyncProperty(table, async (text) => {
        try {
          await dm.load('g', text);
          await dm.clear('g');
          outcomes.built++;
        } catch (e) {
          outcomes.refused++;
          expect(e).toBeInstanceOf(DmError);
          expect((e as DmError).message.length).toBeGreaterThan(0);
        }
        expect(await dm.table('g')).toEqual([{ name: 'g', start: 0, length: 64, target: 'zero', params: '' }]);
      }),
      { numRuns: 500 },
    );
    expect(outcomes.built).toBeGreaterThan(0); // the generator reaches the constructors, not just the parser
    expect(outcomes.refused).toBeGreaterThan(0);
    for (const { name, dev } of disks) {
      const buf = Buffer.alloc(512 * 512);
      await dev.read(0, buf);
      expect(buf.equals(writeData(0, 512, 9)), `${name} changed`).toBe(true);
    }
  });
});
