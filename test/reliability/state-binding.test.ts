// `dmsim daemon --state`, the real process killed with SIGKILL and started again: a table's devices are bound
// once, when it is loaded, and a restart binds them to the same things (issue 13, items 1, 3 and 9); a change
// whose record cannot be written is undone (item 5). Expectations: DESIGN.md's contract ("a relative path against
// the client's directory, `253:MINOR` or /dev/mapper/NAME to that device; the state file records what it was
// bound to, so a restart brings back the same stack"), the kernel's printing of a device by its number now, and
// what Linux 6.1 answered for device numbers naming nothing and for pseudo-filesystem files
// (fixtures/reliability/device-numbers.out).

import { spawn, spawnSync } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ControlClient } from '../../src/control/client.js';
import { readStateFile } from '../../src/control/state-file.js';
import { type DaemonHandle, REPO, runCli, startDaemon } from '../support/daemon-process.js';
import { makeImage } from './support/files.js';
import { tagOf, writeData } from './support/sector-model.js';

let dir = '';
let socket = '';
let state = '';
const running: DaemonHandle[] = [];
const clients: ControlClient[] = [];
/** Kills a CLI that a regression left hanging, once its test is over. */
let hung = new AbortController();
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dmsim-binding-'));
  socket = join(dir, 'control');
  state = join(dir, 'state.json');
});
afterEach(async () => {
  hung.abort();
  hung = new AbortController();
  for (const c of clients.splice(0)) c.close();
  for (const d of running.splice(0)) await d.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

async function daemon(cwd = REPO, statePath = state): Promise<ControlClient> {
  running.push(await startDaemon(socket, ['--state', statePath], cwd));
  const c = await ControlClient.connect(socket);
  clients.push(c);
  return c;
}

/** kill -9 of the running daemon, then a new one on the same state file (from `cwd`). */
async function crashAndRestart(cwd = REPO, statePath = state): Promise<ControlClient> {
  for (const c of clients.splice(0)) c.close();
  await running.pop()!.kill('SIGKILL');
  return daemon(cwd, statePath);
}

/** Writes `count` sectors of `tag` at `sector` (sector-model data: each sector names itself and the write). */
async function writeAndFlush(
  c: ControlClient,
  name: string,
  sector: number,
  count: number,
  tag: number,
): Promise<void> {
  await c.write(name, sector, writeData(sector, count, tag));
  await c.request('flush', { name });
}

/** Which write each of the first `sectors` sectors of a file holds: its tag, 0 for zeros, null for anything else. */
async function tagsIn(path: string, sectors: number): Promise<(number | null)[]> {
  const data = await readFile(path);
  return Array.from({ length: sectors }, (_, s) => {
    const sector = data.subarray(s * 512, (s + 1) * 512);
    return sector.equals(Buffer.alloc(512)) ? 0 : tagOf(s, sector);
  });
}

/** `count` sectors of `tag`, for the expectations. */
const run = (tag: number, count: number): number[] => Array<number>(count).fill(tag);

const tableOf = async (c: ControlClient, name: string): Promise<string[]> =>
  (await c.request('table', { name })).map((l) => `${l.start} ${l.length} ${l.target} ${l.params}`);
const minorOf = async (c: ControlClient, name: string): Promise<number> =>
  (await c.request('ls', {})).find((d) => d.name === name)!.minor;

describe('a device named by number (253:MINOR)', () => {
  it('is still the same device after a restart hands out other minors; the table prints its number now', async () => {
    const [img1, img2] = [join(dir, 'img1'), join(dir, 'img2')];
    await makeImage(img1, 2048 * 512);
    await makeImage(img2, 2048 * 512);
    let c = await daemon();
    await c.request('create', { name: 'p', table: '0 8 zero' });
    await c.request('create', { name: 'q', table: `0 2048 linear ${img1} 0` });
    await c.request('create', { name: 'r', table: `0 2048 linear ${img2} 0` });
    await c.request('remove', { name: 'p' });
    const q = await minorOf(c, 'q');
    expect(q).toBe(1); // minors are handed out lowest-free in creation order (kernel recordings)
    await c.request('create', { name: 'top', table: `0 2048 linear 253:${q} 0` });
    await writeAndFlush(c, 'top', 0, 8, 1);

    c = await crashAndRestart();
    const qNow = await minorOf(c, 'q');
    expect(qNow).not.toBe(q); // the restart did hand out other minors: 253:1 is r now
    expect(await minorOf(c, 'r')).toBe(q);
    expect(await tableOf(c, 'top')).toEqual([`0 2048 linear 253:${qNow} 0`]);
    expect((await c.request('deps', { name: 'top' }))[0]!.devices).toEqual([`253:${qNow}`]);
    await writeAndFlush(c, 'top', 8, 8, 2);
    expect(await tagsIn(img1, 16)).toEqual([...run(1, 8), ...run(2, 8)]);
    expect(await tagsIn(img2, 16)).toEqual(run(0, 16));

    // And again: the record made after the first restart keeps the binding.
    c = await crashAndRestart();
    await writeAndFlush(c, 'top', 16, 8, 3);
    expect(await tagsIn(img1, 24)).toEqual([...run(1, 8), ...run(2, 8), ...run(3, 8)]);
    expect(await tagsIn(img2, 24)).toEqual(run(0, 24));
  });
});

describe('a relative path in a table', () => {
  it("is the client's file, recorded by its absolute path, and still printed as typed after a restart elsewhere", async () => {
    const [here, there] = [join(dir, 'here'), join(dir, 'there')];
    await mkdir(here);
    await mkdir(there);
    await makeImage(join(here, 'disk.img'), 64 * 512);
    await makeImage(join(there, 'disk.img'), 64 * 512); // a file of the same name where the daemon restarts
    let c = await daemon(there);
    const r = await runCli(['create', 'rel', '--socket', socket, '--table', '0 64 linear disk.img 0'], here);
    expect(r.status, r.stderr).toBe(0);
    expect(await tableOf(c, 'rel')).toEqual(['0 64 linear disk.img 0']);
    expect((await readStateFile(state))!.devices).toMatchObject([
      { name: 'rel', table: ['0 64 linear disk.img 0'], bindings: { 'disk.img': join(here, 'disk.img') } },
    ]);
    await writeAndFlush(c, 'rel', 0, 8, 1);

    c = await crashAndRestart(REPO);
    expect(await tableOf(c, 'rel')).toEqual(['0 64 linear disk.img 0']);
    await writeAndFlush(c, 'rel', 8, 8, 2);
    expect(await tagsIn(join(here, 'disk.img'), 16)).toEqual([...run(1, 8), ...run(2, 8)]);
    expect(await tagsIn(join(there, 'disk.img'), 16)).toEqual(run(0, 16));
  });

  it('is refused when the request does not say where the client stands (a raw request without cwd)', async () => {
    await makeImage(join(dir, 'disk.img'), 64 * 512);
    await daemon(dir);
    const reply = await rawRequest({ id: 1, verb: 'create', args: { name: 'x', table: '0 64 linear disk.img 0' } });
    expect(reply).toMatchObject({
      ok: false,
      error: { code: 'ENODEV', message: expect.stringMatching(/disk\.img: a relative path, .*give an absolute path/) },
    });
    const ok = await rawRequest({
      id: 2,
      verb: 'create',
      args: { name: 'x', table: '0 64 linear disk.img 0', cwd: dir },
    });
    expect(ok).toMatchObject({ ok: true });
  });
});

/** One request line over a fresh connection, as `nc -U` would send it; resolves to the reply. */
function rawRequest(request: unknown): Promise<Record<string, unknown>> {
  return new Promise((resolve, reject) => {
    const s = connect(socket);
    let got = '';
    s.on('data', (d) => (got += d.toString()));
    s.on('error', reject);
    s.on('end', () => resolve(JSON.parse(got.split('\n')[0]!) as Record<string, unknown>));
    s.end(`${JSON.stringify(request)}\n`);
  });
}

describe('device numbers and pseudo-filesystem files (Linux 6.1: fixtures/reliability/device-numbers.out)', () => {
  /** Each case of the recording: the table, and the errno dmsetup reported. */
  async function kernelCases(): Promise<{ table: string; code: string }[]> {
    const text = await readFile(join(REPO, 'fixtures/reliability/device-numbers.out'), 'utf8');
    const errno: Record<string, string> = { 'No such device or address': 'ENXIO', 'No such device': 'ENODEV' };
    return text
      .split('### ')
      .slice(1)
      .map((block) => {
        const reason = /failed: (.*)$/m.exec(block)![1]!;
        return { table: block.split('\n')[0]!, code: errno[reason]! };
      });
  }

  it('refuses each table as the kernel did (a number naming nothing is never read as a path), and records nothing', async () => {
    const cases = await kernelCases();
    expect(cases.map((k) => k.code)).toEqual(['ENXIO', 'ENXIO', 'ENODEV', 'ENODEV']);
    await writeFile(join(dir, '253:7'), Buffer.alloc(8 * 512)); // a file named like the number, where the client is
    const c = await daemon(dir);
    const powerState = await readFile('/sys/power/state', 'utf8').catch(() => null);
    for (const k of cases) {
      await expect(c.request('create', { name: 'x', table: k.table, cwd: dir }), k.table).rejects.toMatchObject({
        code: k.code,
        message: expect.stringMatching(/Device lookup failed/),
      });
    }
    await expect(c.request('create', { name: 'x', table: '0 8 linear 253:7 0' })).rejects.toThrow(
      /253:7: no device has this number/,
    );
    await expect(c.request('create', { name: 'x', table: '0 8 linear /sys/power/state 0' })).rejects.toThrow(
      /sysfs pseudo-filesystem/,
    );
    await expect(c.request('create', { name: 'x', table: '0 8 linear /proc/self/status 0' })).rejects.toThrow(
      /proc pseudo-filesystem/,
    );
    expect(await c.request('ls', {})).toEqual([]);
    expect((await readStateFile(state))!.devices).toEqual([]);
    expect(await readFile('/sys/power/state', 'utf8').catch(() => null)).toBe(powerState);
  });
});

describe('the state file path and what writers leave beside it', () => {
  it('a FIFO as --state is refused at start instead of hanging the daemon', async () => {
    const fifo = join(dir, 'fifo');
    expect(spawnSync('mkfifo', [fifo]).status).toBe(0);
    const r = await runCli(['daemon', '--socket', socket, '--state', fifo], REPO, hung.signal);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/^dmsim: state file .*fifo: it is not a regular file; the daemon will not start/);
    expect((await fsp.stat(fifo)).isFIFO()).toBe(true);
  });

  it('temporary files of writers killed mid-write are removed at start; a running writer keeps its own', async () => {
    const deadPid = await exitedPid();
    const stale = join(dir, `.state.json.${deadPid}.tmp`);
    const live = join(dir, `.state.json.${process.pid}.tmp`); // this test process is alive
    const other = join(dir, `.other.json.${deadPid}.tmp`); // not this state file's
    for (const f of [stale, live, other]) await writeFile(f, '{"format":"dmsim-s');
    const c = await daemon();
    expect(running[0]!.stderr()).toContain(`removed ${stale}, left by a daemon killed while writing the state file`);
    await c.request('create', { name: 'a', table: '0 8 zero' });
    expect((await fsp.readdir(dir)).sort()).toEqual(
      ['control', 'state.json', `.other.json.${deadPid}.tmp`, `.state.json.${process.pid}.tmp`].sort(),
    );
  });
});

/** The PID of a process that has exited (and been reaped). */
function exitedPid(): Promise<number> {
  const child = spawn('true');
  return new Promise((resolve) => child.once('exit', () => resolve(child.pid!)));
}
