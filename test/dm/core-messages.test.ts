// The dm core's own messages (`@cancel_deferred_remove`, `@stats_*`, any other `@` word) replayed against
// DeviceMapper from the kernel's recording (fixtures/dmsetup-dropin/kernel/core-messages.txt): every reply,
// refusal and errno as 6.1 gave them, and the dm-stats counters after the same direct I/O (the counters that
// depend on time compared by presence: the kernel's milliseconds are not dmsim's).

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/base/clock.js';
import { DmError } from '../../src/base/errors.js';
import { EventBus } from '../../src/base/events.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { parseTranscript, type Step } from '../e2e/transcript.js';

const KERNEL = fileURLToPath(new URL('../../fixtures/dmsetup-dropin/kernel/', import.meta.url));

/** Fields of a @stats_print line ($1 is start+len) that count time: read/write ticks, io_ticks, queue, histogram. */
const TIME_FIELDS = new Set([5, 9, 11, 12, 13, 14, 15]);

const ERRNO: Record<string, string> = {
  'Invalid argument': 'EINVAL',
  'No such file or directory': 'ENOENT',
};

/** The fields `awk '{print $1, $5}'` prints ($0 for the whole line: every field; NF: the count). */
function awkFields(awk: string | undefined): string[] | undefined {
  return awk?.split(/,\s*/);
}

/** Runs awk's `{print ...}` over dmsim's lines, as the recording piped the kernel's through it. */
function project(lines: string[], awk: string | undefined): string[][] {
  const fields = awkFields(awk);
  return lines.map((line) => {
    const words = line.split(' ');
    if (fields === undefined) return words;
    return fields.map((f) => (f === 'NF' ? String(words.length) : (words[Number(f.slice(1)) - 1] ?? '')));
  });
}

/** Whether each printed field of a @stats_print line counts time. */
function timeField(awk: string | undefined, counters: boolean, j: number): boolean {
  if (!counters) return false;
  const f = awkFields(awk)?.[j];
  if (f === undefined) return TIME_FIELDS.has(j + 1);
  return f !== 'NF' && TIME_FIELDS.has(Number(f.slice(1)));
}

/** What dmsim answers for one recorded command; undefined for a command this test does not model. */
async function run(dm: DeviceMapper, step: Step): Promise<{ stdout: string[]; errno?: string } | undefined> {
  const create = /^dmsim create (\S+) --table "(.*)"$/.exec(step.command);
  if (create) {
    await dm.create(create[1]!, create[2]!.replace('$D1', 'D1'));
    return { stdout: [] };
  }
  const remove = /^dmsim remove (\S+)$/.exec(step.command);
  if (remove) {
    await dm.remove(remove[1]!);
    return { stdout: [] };
  }
  const dd = /^dd if=(\S+) of=(\S+) bs=(\d+) count=(\d+)(?: skip=(\d+))? [io]flag=direct/.exec(step.command);
  if (dd) {
    const [, input, output, bs, count, skip] = dd;
    const write = output!.startsWith('/dev/mapper/');
    const dev = await dm.open((write ? output! : input!).slice('/dev/mapper/'.length));
    // busybox dd with O_DIRECT: one request of bs bytes after another. Below a page (bs=512) it goes through the
    // page cache on the oracle, which reads the whole 4 KiB page (the recording counts 8 sectors for it).
    const bytes = Math.max(Number(bs), write ? 0 : 4096);
    const buf = Buffer.alloc(bytes);
    const first = Math.floor((Number(skip ?? 0) * Number(bs)) / bytes) * (bytes / 512);
    for (let i = 0; i < Number(count); i++) {
      const sector = first + (i * bytes) / 512;
      await (write ? dev.write(sector, buf) : dev.read(sector, buf));
    }
    await dev.close();
    return { stdout: [] };
  }
  const message = /^dmsim message (\S+) (\d+) ([^|]+?)(?: \| awk '\{print (.*)\}')?$/.exec(step.command);
  if (!message) return undefined;
  try {
    const reply = await dm.message(message[1]!, Number(message[2]), message[3]!.split(' '));
    return { stdout: reply === '' ? [] : reply.replace(/\n$/, '').split('\n') };
  } catch (e) {
    if (!(e instanceof DmError)) throw e;
    return { stdout: [], errno: e.code };
  }
}

describe('the core messages, as 6.1 answers them', () => {
  it('replays core-messages.txt: replies, refusals with their errno, and the stats counters', async () => {
    const kernel = parseTranscript(readFileSync(`${KERNEL}core-messages.txt`, 'utf8'));
    const clock = new ManualClock();
    const dm = new DeviceMapper({ bus: new EventBus(), clock });
    dm.addBackingDevice('D1', new MemoryDevice('D1', 16384));
    let modelled = 0;
    for (const step of kernel.steps) {
      clock.advance(1);
      const got = await run(dm, step);
      if (!got) continue;
      modelled++;
      const errnoLine = step.stderr.find((l) => l.startsWith('device-mapper: '));
      const want = errnoLine ? ERRNO[errnoLine.replace(/^.*failed: /, '')] : undefined;
      expect(got.errno, step.command).toBe(want);
      const awk = /\| awk '\{print (.*)\}'$/.exec(step.command)?.[1];
      const counters = step.command.includes('@stats_print');
      const ours = project(got.stdout, awk);
      const theirs = step.stdout.map((l) => l.split(' '));
      expect(ours.length, step.command).toBe(theirs.length);
      theirs.forEach((line, i) => {
        const mine = ours[i]!;
        expect(mine.length, `${step.command}: line ${i + 1}`).toBe(line.length);
        line.forEach((word, j) => {
          if (timeField(awk, counters, j)) expect(mine[j], `${step.command}: time field`).toMatch(/^\d+(:\d+)*$/);
          else expect(mine[j], `${step.command}: line ${i + 1} field ${j + 1}`).toBe(word);
        });
      });
    }
    expect(modelled).toBe(kernel.steps.length);
    await dm.close();
  });
});
