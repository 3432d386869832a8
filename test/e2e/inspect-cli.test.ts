// `dmsim inspect` against a real daemon process and on image files: the COW store and the disk log the real
// kernel wrote in the oracle jobs (fixtures/snapshot/jobs/p8-basic.sh, fixtures/inspect/jobs/disk-log.sh) decode
// to what the kernel's own status lines say, and the same workloads run through `dmsim` leave images that
// decode to the same output, text and JSON; a live device shows the same numbers as its status.

import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli, type DaemonHandle, makeBinDir, REPO, runShell, startDaemon } from './cli-harness.js';

let work: string;
let env: NodeJS.ProcessEnv;
let daemon: DaemonHandle;

beforeAll(async () => {
  buildCli();
  work = await mkdtemp(join(tmpdir(), 'dmsim-inspect-'));
  const bin = await makeBinDir(work);
  const socket = join(work, 'control');
  env = { ...process.env, PATH: `${bin}:${process.env.PATH ?? ''}`, DMSIM_SOCKET: socket };
  daemon = await startDaemon(socket, env);
}, 300_000);

afterAll(async () => {
  await daemon?.stop();
  await rm(work, { recursive: true, force: true });
});

const sh = (command: string) => runShell(command, { cwd: work, env });

function fixture(path: string): Buffer {
  return readFileSync(join(REPO, 'fixtures', path));
}

/** The kernel's status parameters of device `dev` in a transcript line `LABEL ... DEV: 0 LEN TYPE PARAMS`. */
function kernelParams(text: string, line: RegExp): string {
  const m = line.exec(text);
  if (!m?.[1]) throw new Error(`no line ${line} in the kernel's transcript`);
  return m[1];
}

async function run(command: string): Promise<string> {
  const r = await sh(command);
  expect(r.stderr).toBe('');
  expect(r.exit).toBe(0);
  return r.stdout;
}

/** The output without its first line (which names the file). */
function body(out: string): string {
  return out.split('\n').slice(1).join('\n');
}

describe('dmsim inspect: snapshot COW stores', () => {
  it("decodes the kernel's COW to the kernel's status, and dmsim's COW of the same writes to the same output", {
    timeout: 180_000,
  }, async () => {
    await writeFile(join(work, 'kernel.cow'), gunzipSync(fixture('snapshot/kernel/p8-basic.cow2048.img.gz')));
    const kernel = await run('dmsim inspect kernel.cow');
    // What the kernel printed when it activated this COW again ("reactivated"): 56/2048 16.
    const reactivated = kernelParams(
      readFileSync(join(REPO, 'fixtures/snapshot/kernel/p8-basic.txt'), 'utf8'),
      /--- reactivated\nsnap: 0 2048 snapshot (.+)/,
    );
    expect(kernel).toContain(`\n  status ${reactivated}\n`);
    expect(kernel).toContain('header   magic 0x70416e53 (bytes "SnAp")  valid 1  version 1  chunk_size 8');
    // p8-basic.sh: origin writes to chunks 3, 0, 255, then snapshot writes to chunks 10 and 20, in that order.
    expect(kernel).toMatch(/ 3 -> 2 +0 -> 3 +255 -> 4 +10 -> 5\n +20 -> 6\n/);
    expect(kernel).toContain('next free chunk 7');

    // The same chunks written through dmsim (other bytes in them: the store's metadata is what is compared).
    const live = await run(
      [
        'set -e',
        'dmsim mkimg origin.img 1M >/dev/null',
        'dmsim mkimg dmsim.cow 1M >/dev/null',
        'dmsim create origin --table "0 2048 snapshot-origin $PWD/origin.img"',
        'dmsim suspend origin',
        'dmsim create snap --table "0 2048 snapshot $PWD/origin.img $PWD/dmsim.cow P 8"',
        'dmsim resume origin',
        'dmsim write origin 24 8 0x4e',
        'dmsim write origin 0 8 0x4e',
        'dmsim write origin 2040 8 0x4e',
        'dmsim write origin 24 8 0x4f',
        'dmsim write snap 80 8 0x53',
        'dmsim write snap 160 8 0x53',
        'dmsim write origin 80 8 0x4e',
        'dmsim status snap',
        'dmsim inspect snap',
      ].join('\n'),
    );
    const [status, ...inspected] = live.split('\n');
    const params = status!.replace(/^0 2048 snapshot /, '');
    expect(params).toBe(reactivated);
    expect(inspected.join('\n')).toContain(`\n  status ${params}\n`);
    expect(inspected.join('\n')).toContain('exceptions 5 (');
    await run('dmsim remove snap && dmsim remove origin');
    const mine = await run('dmsim inspect dmsim.cow');
    expect(body(mine)).toBe(body(kernel));
    expect(await run('dmsim inspect --json dmsim.cow')).toBe(await run('dmsim inspect kernel.cow --json'));
  });

  it('reads a COW of several areas as the kernel does (p1-areas: chunk 1, four areas)', async () => {
    await writeFile(join(work, 'areas.cow'), gunzipSync(fixture('snapshot/kernel/p1-areas.cow120.img.gz')));
    const out = await run('dmsim inspect --as cow areas.cow');
    const last = [
      ...readFileSync(join(REPO, 'fixtures/snapshot/kernel/p1-areas.txt'), 'utf8').matchAll(
        /^snap: 0 2048 snapshot (\d+\/\d+ \d+)$/gm,
      ),
    ].at(-1)![1];
    expect(out).toContain(`\n  status ${last}\n`);
    // reference/snapshot.md: E = 32*C = 32 records per area, area k at chunk 1 + k*(E+1).
    expect(out).toContain('areas    32 records each, area k at chunk 1+33k; area 3 holds');
    const json = JSON.parse(await run('dmsim inspect --as cow areas.cow --json'));
    const areas = json.layout
      .filter((r: { kind: string }) => r.kind === 'metadata')
      .map((r: { first: number }) => r.first);
    expect(areas).toEqual([1, 34, 67, 100]);
  });

  it('refuses a file that is neither, naming both magics; --as cow shows a COW with no header yet', async () => {
    await writeFile(join(work, 'zeros.img'), Buffer.alloc(4096));
    const r = await sh('dmsim inspect ./zeros.img');
    expect(r.exit).toBe(1);
    expect(r.stderr).toMatch(
      /magic 0x00000000 is neither a snapshot COW's \(0x70416e53 "SnAp"\) nor a mirror disk log's/,
    );
    expect(await run('dmsim inspect zeros.img --as cow')).toContain('header   none yet (magic 0');
  });
});

describe('dmsim inspect: mirror disk logs', () => {
  it("decodes the kernel's log to the kernel's in-sync count, and dmsim's log of the same run to the same output", {
    timeout: 180_000,
  }, async () => {
    await writeFile(join(work, 'kernel.log'), gunzipSync(fixture('inspect/kernel/disk-log.log.img.gz')));
    const transcript = readFileSync(join(REPO, 'fixtures/inspect/kernel/disk-log.out'), 'utf8');
    const failed = kernelParams(transcript, /^STATUS failed 0 4000 mirror (.+)$/m);
    const inSync = /\d+\/\d+/.exec(failed)![0];
    const kernel = await run('dmsim inspect kernel.log');
    expect(kernel).toContain('header   magic 0x4d695272 (bytes "rRiM")  version 2  nr_regions 32');
    expect(kernel).toContain(`\n  status in-sync ${inSync}\n`);
    // Region 3 took the failed write: its clean bit is the only one clear.
    expect(kernel).toContain(`on disk  ${'1'.repeat(3)}0${'1'.repeat(28)}\n`);

    // disk-log.sh through dmsim: leg1 flakey, a full resync, then leg1 fails writes and region 3 is written.
    const live = await run(
      [
        'set -e',
        'dmsim mkimg leg0.img 2M >/dev/null',
        'dmsim mkimg leg1.img 2M >/dev/null',
        'dmsim mkimg dmsim.log 64K >/dev/null',
        'dmsim create leg1 --table "0 4096 flakey $PWD/leg1.img 0 86400 0"',
        'dmsim create m --table "0 4000 mirror disk 2 $PWD/dmsim.log 128 2 $PWD/leg0.img 0 /dev/mapper/leg1 0"',
        'dmsim wait m --for sync --timeout 60',
        'dmsim suspend leg1',
        'dmsim load leg1 --table "0 4096 flakey $PWD/leg1.img 0 0 86400 1 error_writes"',
        'dmsim resume leg1',
        'dmsim write m 384 8 0x57',
        'dmsim status m',
        'dmsim inspect m',
      ].join('\n'),
    );
    const [status, ...inspected] = live.split('\n');
    expect(status).toContain(` ${inSync} 1 AD 3 disk `);
    expect(inspected.join('\n')).toContain(`\n  status in-sync ${inSync}\n`);
    expect(inspected.join('\n')).toMatch(/\n {2}3 +0 +0 +0 +nosync +0\n/);
    await run('dmsim remove m && dmsim remove leg1');
    const mine = await run('dmsim inspect dmsim.log');
    expect(body(mine)).toBe(body(kernel));
    expect(await run('dmsim inspect dmsim.log --json')).toBe(await run('dmsim inspect kernel.log --json'));
  });
});
