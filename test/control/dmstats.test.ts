// `dmsim stats` against dmstats 1.02.185 on 6.1: the oracle's recordings fixtures/dmsetup-dropin/kernel/
// dmstats-cli.txt and dmstats-fields.txt replayed through runStats over an in-process DeviceMapper, with the
// recordings' dd runs issued as the requests the kernel saw. Every line is compared exactly, except the values that
// depend on how long the I/O took (ticks, queue size, utilisation, waits): those must be numbers where the kernel
// printed numbers.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/base/clock.js';
import { DmError } from '../../src/base/errors.js';
import { EventBus } from '../../src/base/events.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { runStats } from '../../src/control/dmstats.js';
import { bindWords, verbCommand } from '../../src/control/grammar/grammar.js';
import { STATS_GRAMMAR } from '../../src/control/grammar/stats.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { parseTranscript, type Step } from '../e2e/transcript.js';

const KERNEL = fileURLToPath(new URL('../../fixtures/dmsetup-dropin/kernel/', import.meta.url));

type Io = ['read' | 'write', number, number];
const pages = (op: 'read' | 'write', first: number, n: number): Io[] =>
  Array.from({ length: n }, (_, i): Io => [op, first + 8 * i, 8]);

/**
 * The requests each recorded dd made on the oracle. O_DIRECT with bs=4096 is one request per block; busybox's
 * bs=512 runs went through the page cache there, and the recorded counts (2 more reads of 40 sectors, 1 more write
 * of 8, none merged) are those of reading the page, writing it back, and a 32-sector readahead.
 */
const DD: Record<string, Io[]> = {
  'dd if=/dev/zero of=/dev/mapper/lin bs=4096 count=4 oflag=direct 2>/dev/null': pages('write', 0, 4),
  'dd if=/dev/mapper/lin of=/dev/null bs=4096 count=8 iflag=direct 2>/dev/null': pages('read', 0, 8),
  'dd if=/dev/zero of=/dev/mapper/lin bs=512 count=1 seek=1 oflag=direct 2>/dev/null': [
    ['read', 0, 8],
    ['write', 0, 8],
  ],
  'dd if=/dev/mapper/lin of=/dev/null bs=512 count=1 skip=1 iflag=direct 2>/dev/null': [['read', 8, 32]],
  'dd if=/dev/zero of=/dev/mapper/lin bs=4096 count=2 seek=255 oflag=direct 2>/dev/null': pages('write', 2040, 2),
  'dd if=/dev/zero of=/dev/mapper/lin bs=4096 count=1 oflag=direct 2>/dev/null': pages('write', 0, 1),
};

/** Commands of the recordings `dmsim stats` does not offer (or offers without these options). */
const NOT_OFFERED = [/ list -v$/, / list --group$/, /hist_count_bounds/, /\| head/, /\| awk '\{print NF\}'$/];

/** Report headings whose values depend on time. */
const TIME_HEADINGS = new Set(['QSize', 'Util%', 'AWait', 'RdAWait', 'WrAWait', 'SvcTm']);
/** Fields of a @stats_print line ($1 is start+len) that count time. */
const TIME_FIELDS = new Set([5, 9, 11, 12, 13, 14, 15]);

/**
 * DIFFERENCE (dmstats-report.ts): dmstats prints a meaningless size (256.00p) as the ArStart and ArOff of some region
 * rows; dmsim prints the region's start and 0b there.
 */
const KERNEL_GARBAGE = '256.00p';

function statsCommand(command: string) {
  const words = command.split(' ').slice(1);
  const cmd = verbCommand('stats', STATS_GRAMMAR);
  cmd.parse(words, { from: 'user' });
  return bindWords('stats', STATS_GRAMMAR, cmd.args, cmd.opts());
}

/** The kernel's awk projection of @stats_print lines: which fields of the full line each printed word is. */
function printedFields(command: string): number[] | undefined {
  const awk = /\| awk '\{print (.*)\}'$/.exec(command)?.[1];
  return awk?.split(/,\s*/).map((f) => (f === 'NF' ? 0 : Number(f.slice(1))));
}

function project(lines: string[], fields: number[] | undefined): string[] {
  if (!fields) return lines;
  return lines.map((l) => {
    const words = l.split(' ');
    return fields.map((f) => (f === 0 ? String(words.length) : (words[f - 1] ?? ''))).join(' ');
  });
}

/** Compares dmsim's lines with the kernel's, time-dependent words by shape only. */
function compare(step: Step, ours: string[]): void {
  const theirs = step.stdout;
  expect(ours.length, `${step.command}: lines\n${ours.join('\n')}`).toBe(theirs.length);
  const counters = /@stats_print|stats print|print lin|print --allregions/.test(step.command);
  const fields = printedFields(step.command);
  const headings = theirs[0]?.split(/\s+/) ?? [];
  theirs.forEach((line, i) => {
    const mine = ours[i]!;
    if (mine === line) return;
    const a = line.trim().split(/\s+/);
    const b = mine.trim().split(/\s+/);
    expect(b.length, `${step.command}: line ${i + 1}\n--- kernel\n${line}\n--- dmsim\n${mine}`).toBe(a.length);
    a.forEach((word, j) => {
      const time = counters ? TIME_FIELDS.has(fields ? fields[j]! : j + 1) : i > 0 && TIME_HEADINGS.has(headings[j]!);
      if (time) expect(b[j], `${step.command}: line ${i + 1} word ${j + 1}`).toMatch(/^\d+(\.\d+)?(:\d+)*$/);
      else if (word !== KERNEL_GARBAGE) expect(b[j], `${step.command}: line ${i + 1} word ${j + 1}`).toBe(word);
    });
  });
}

async function replay(file: string): Promise<number> {
  const kernel = parseTranscript(readFileSync(KERNEL + file, 'utf8'));
  const clock = new ManualClock();
  const dm = new DeviceMapper({ bus: new EventBus(), clock });
  dm.addBackingDevice('D1', new MemoryDevice('D1', 16384));
  const backend = {
    devices: async () => dm.ls().map((d) => d.name),
    sizeSectors: async (name: string) => (await dm.table(name)).reduce((n, l) => n + l.length, 0),
    message: (name: string, words: string[]) => dm.message(name, 0, words),
  };
  let compared = 0;
  try {
    for (const step of kernel.steps) {
      clock.advance(1);
      const { command } = step;
      const create = /^dmsim create (\S+) --table "(.*)"$/.exec(command);
      const remove = /^dmsim remove (\S+)$/.exec(command);
      if (create) await dm.create(create[1]!, create[2]!.replace('$D1', 'D1'));
      else if (remove) await dm.remove(remove[1]!);
      else if (DD[command]) {
        const dev = await dm.open('lin');
        for (const [op, sector, count] of DD[command]!) {
          const buf = Buffer.alloc(count * 512);
          await (op === 'read' ? dev.read(sector, buf) : dev.write(sector, buf));
          clock.advance(1);
        }
        await dev.close();
      } else if (command.startsWith('dmsim message lin 0 ')) {
        const words = command
          .replace(/ \|.*$/, '')
          .split(' ')
          .slice(4);
        compare(step, project((await dm.message('lin', 0, words)).split('\n').slice(0, -1), printedFields(command)));
        compared++;
      } else if (command.startsWith('dmstats ') && !NOT_OFFERED.some((re) => re.test(command))) {
        const run = runStats(statsCommand(command.replace(/ \|.*$/, '')), backend);
        if (step.exit !== 0) {
          const why = step.stderr[0]!;
          const ioctl = /^device-mapper: .* failed: No such device or address$/.test(why);
          const e = await run.then(
            () => undefined,
            (x: unknown) => x,
          );
          expect(e, command).toBeInstanceOf(DmError);
          if (ioctl) expect((e as DmError).code).toBe('ENXIO');
          else expect((e as DmError).message, command).toContain(why);
        } else {
          const out = await run;
          compare(step, project(out === '' ? [] : out.split('\n').slice(0, -1), printedFields(command)));
        }
        compared++;
      } else if (command.startsWith('dmstats ')) continue;
      else throw new Error(`the test does not model '${command}'`);
    }
  } finally {
    await dm.close();
  }
  return compared;
}

describe('dmsim stats prints what dmstats 1.02.185 printed', () => {
  it('dmstats-cli.txt: create, list, print, report, clear, delete and their refusals', async () => {
    expect(await replay('dmstats-cli.txt')).toBeGreaterThan(35);
  });

  it('dmstats-fields.txt: every report field, small sizes, and a report after I/O', async () => {
    expect(await replay('dmstats-fields.txt')).toBeGreaterThan(12);
  });
});

describe('dmsim stats report -o help', () => {
  it("lists dmsetup's fields on stderr as dmsetup -o help printed them (dmstats is dmsetup: one _report_fields)", async () => {
    const recorded = parseTranscript(readFileSync(`${KERNEL}reports.txt`, 'utf8')).steps.find(
      (s) => s.command === 'dmsim info -c -o help',
    )!;
    const backend = { devices: async () => [], sizeSectors: async () => 0, message: async () => '' };
    let stderr = '';
    const out = await runStats(statsCommand('dmstats report -o help'), backend, (t) => {
      stderr += t;
    });
    expect(out).toBe('');
    expect(stderr).toBe(recorded.stderr.map((l) => `${l}\n`).join(''));
  });
});
