// `dmsim copy` run as a user runs it (node --import tsx src/cli/main.ts; npx would add its own start-up): output lines, exit status, the bytes it
// leaves, the trace file, a one-line refusal; and every refusal of its options, in process (the
// shared grammar, then runCopy).

import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCopy } from '../../src/cli/commands/copy.js';
import { parseVerb } from '../../src/control/grammar/verbs.js';

const exec = promisify(execFile);
let dir: string;

async function dmsim(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await exec(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: process.cwd() });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as { code?: number; stdout?: string; stderr?: string };
    return { code: err.code ?? -1, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

const SRC_SECTORS = 4096;
let srcData: Buffer;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dmsim-copy-'));
  srcData = Buffer.alloc(SRC_SECTORS * 512);
  for (let i = 0; i < srcData.length; i++) srcData[i] = (i % 251) + 1;
  await writeFile(join(dir, 'src.img'), srcData);
  for (const n of ['a.img', 'b.img']) {
    await writeFile(join(dir, n), '');
    await truncate(join(dir, n), SRC_SECTORS * 512);
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('dmsim copy', () => {
  it('copies a split job to two destinations, prints the error bits and the throughput, exits 0, traces events', async () => {
    const trace = join(dir, 'trace.jsonl');
    const r = await dmsim(
      'copy',
      '--from',
      `${dir}/src.img:100+3000`,
      '--to',
      `${dir}/a.img:0`,
      '--to',
      `${dir}/b.img:1000+3000`,
      '--subjob-sectors',
      '256',
      '--trace',
      trace,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe('read_err=0 write_err=0x0');
    expect(lines[1]).toMatch(/^copied 3000 sectors \(1\.5 MiB\) in \d+\.\d{3} s: (\d+\.\d|inf) MiB\/s$/);
    expect(lines).toHaveLength(2);
    const want = srcData.subarray(100 * 512, 3100 * 512);
    expect((await readFile(join(dir, 'a.img'))).subarray(0, 3000 * 512).equals(want)).toBe(true);
    expect((await readFile(join(dir, 'b.img'))).subarray(1000 * 512, 4000 * 512).equals(want)).toBe(true);
    const events = (await readFile(trace, 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; phase?: string; slot?: number | null });
    const subJobs = events.filter((e) => e.type === 'kcopyd.job' && e.phase === 'complete' && e.slot !== null);
    expect(subJobs).toHaveLength(Math.ceil(3000 / 256));
    expect(events.some((e) => e.type === 'kcopyd.client' && (e as { action?: string }).action === 'destroyed')).toBe(
      true,
    );
  });

  it('--zero writes zeros to DEV:SECTOR+COUNT', async () => {
    const r = await dmsim('copy', '--zero', '--to', `${dir}/a.img:8+16`);
    expect(r.code).toBe(0);
    expect(r.stdout.split('\n')[0]).toBe('read_err=0 write_err=0x0');
    const a = await readFile(join(dir, 'a.img'));
    expect(a.subarray(8 * 512, 24 * 512).every((x) => x === 0)).toBe(true);
    expect(a.subarray(0, 8 * 512).equals(srcData.subarray(100 * 512, 108 * 512))).toBe(true);
  });

  it('refuses a bad request with one line on stderr and exit status 1', async () => {
    const r = await dmsim('copy', '--from', `${dir}/src.img:0+2048`, '--to', `${dir}/src.img:100`);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      /^dmsim: kcopyd: source .*src\.img:0\+2048 and destination 0 .* overlap and the job is split/,
    );
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});

describe('copy refusals (in process: the grammar, then runCopy)', () => {
  it('refuses each bad request before touching any file', async () => {
    const before = await readFile(join(dir, 'b.img'));
    const src = `${dir}/src.img`;
    const b = `${dir}/b.img`;
    const cases: [string[], RegExp][] = [
      [['--zero', '--to', `${b}:0`], /with --zero every destination needs a count/],
      [['--to', `${b}:0`], /give --from DEV:SECTOR\+COUNT \(or --zero\)/],
      [['--zero', '--from', `${src}:0+8`, '--to', `${b}:0+8`], /--zero writes zeros and takes no --from/],
      [['--from', `${src}:0+8`], /at least one --to/],
      [['--from', src, '--to', `${b}:0`], /expected DEV:SECTOR or DEV:SECTOR\+COUNT/],
      [['--from', `${src}:0`, '--to', `${b}:0`], /the source needs a count/],
      [['--from', `${src}:0+8`, '--to', `${b}:0+9`], /has 9 sectors but the source has 8/],
      [[`${src}:0+8`, `${b}:0+9`], /has 9 sectors but the source has 8/],
      [['--from', `${src}:4000+200`, '--to', `${b}:0`], /beyond the end of .*src\.img \(4096 sectors\)/],
      [
        ['--from', `${src}:0+8`, '--to', `${b}:0`, '--subjob-sectors', '4096'],
        /sub-job size must be .* from 8 to 2048/,
      ],
      [['--from', `${src}:0+8`, '--to', `${b}:0`, '--pages', 'many'], /--pages must be a whole number, not 'many'/],
      [
        ['--from', `${src}:0+8`, ...Array.from({ length: 9 }, (_, i) => ['--to', `${b}:${i * 8}`]).flat()],
        /9 destinations given, at most 8/,
      ],
      [['--from', `${dir}/nope.img:0+8`, '--to', `${b}:0`], /nope\.img: cannot open/],
    ];
    for (const [argv, message] of cases) {
      await expect(
        (async () => {
          const cmd = parseVerb('copy', argv);
          if (cmd.verb === 'copy') await runCopy(cmd.args, () => undefined);
        })(),
        argv.join(' '),
      ).rejects.toThrow(message);
    }
    expect((await readFile(join(dir, 'b.img'))).equals(before)).toBe(true);
  });
});
