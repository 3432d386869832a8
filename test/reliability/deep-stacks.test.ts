// Deep stacks against the real daemon process (issue 13, item 8). The kernel has no depth limit; dmsim allows
// MAX_STACK_DEPTH mapped devices in one chain (README "Guarantees") and refuses a deeper one with a clear error,
// at create and at activation from a state file alike, where the daemon still starts, reports that device (and
// the ones stacked on it) and serves the rest. I/O goes through a stack of exactly that depth. One daemon, started
// from a 6,000-deep state file, serves every test (activating MAX_STACK_DEPTH devices takes a few seconds).

import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlClient } from '../../src/control/client.js';
import type { RecordedDevice } from '../../src/control/state-file.js';
import { MAX_STACK_DEPTH } from '../../src/dm/stack-depth.js';
import { type DaemonHandle, runCli, startDaemon } from '../support/daemon-process.js';
import { makeImage } from './support/files.js';

const SECTORS = 64;
const RECORDED = 6000;
const top = `d${MAX_STACK_DEPTH - 1}`;
const refused = `d${MAX_STACK_DEPTH}`;
let dir = '';
let socket = '';
let daemon: DaemonHandle | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dmsim-deep-'));
  socket = join(dir, 'control');
  await makeImage(join(dir, 'bottom.img'), SECTORS * 512);
  await makeImage(join(dir, 'other.img'), SECTORS * 512);
  daemon = await startDaemon(socket, ['--state', await stateFile(RECORDED)]);
}, 180_000);

afterAll(async () => {
  // SIGKILL: tearing a deep stack down is daemon-lifecycle.test.ts's business.
  await daemon?.kill('SIGKILL');
  await rm(dir, { recursive: true, force: true });
});

/** A state file holding a chain d0 (over bottom.img) .. d{depth-1}, each over the one before, and `other`. */
async function stateFile(depth: number): Promise<string> {
  const devices: RecordedDevice[] = [];
  for (let i = 0; i < depth; i++) {
    const below = i === 0 ? join(dir, 'bottom.img') : `/dev/mapper/d${i - 1}`;
    devices.push({ name: `d${i}`, readOnly: false, minor: i, table: [`0 ${SECTORS} linear ${below} 0`] });
  }
  const other = `0 ${SECTORS} linear ${join(dir, 'other.img')} 0`;
  devices.push({ name: 'other', readOnly: false, minor: depth, table: [other] });
  const path = join(dir, 'state.json');
  await writeFile(path, JSON.stringify({ format: 'dmsim-state', version: 1, devices }));
  return path;
}

/** Writes a page at the top of the chain and reads it back, there and from the file at the bottom. */
async function ioThrough(name: string, byte: number): Promise<void> {
  const c = await ControlClient.connect(socket);
  try {
    const page = Buffer.alloc(4096, byte);
    await c.write(name, 8, page);
    expect((await c.read(name, 8, 8)).equals(page)).toBe(true);
    expect((await readFile(join(dir, 'bottom.img'))).subarray(8 * 512, 16 * 512).equals(page)).toBe(true);
  } finally {
    c.close();
  }
}

const cli = (...args: string[]) => runCli([...args, '--socket', socket]);

describe('stack depth', () => {
  it(`a ${RECORDED}-deep state file: the daemon starts, activates ${MAX_STACK_DEPTH} levels, reports the next and serves the rest`, async () => {
    const stderr = daemon!.stderr();
    expect(stderr).toContain(`${refused}: not activated: `);
    expect(stderr).toContain(`would make ${MAX_STACK_DEPTH + 1}, and a stack may be at most ${MAX_STACK_DEPTH} deep`);
    expect(stderr).toContain(`d${MAX_STACK_DEPTH + 1}: not activated: it uses ${refused}, which did not come back`);
    expect(stderr).toContain(`activated ${MAX_STACK_DEPTH + 1} of ${RECORDED + 1} device(s)`);
    const ls = await cli('ls');
    expect(ls.stdout).toContain('other\t');
    expect(ls.stdout).toContain(`${top}\t`);
    expect(ls.stdout).not.toContain(`${refused}\t`);
    await ioThrough(top, 0x5a);
    const other = await ControlClient.connect(socket);
    await other.write('other', 0, Buffer.alloc(512, 1));
    other.close();
  }, 60_000);

  it(`create refuses a device that would make a stack deeper than ${MAX_STACK_DEPTH}, and so does a reload under one`, async () => {
    const over = await cli('create', 'over', '--table', `0 ${SECTORS} linear /dev/mapper/${top} 0`);
    expect(over.status).not.toBe(0);
    expect(over.stderr).toContain(
      `/dev/mapper/${top} heads a stack of ${MAX_STACK_DEPTH} mapped device(s); over over it would make ${MAX_STACK_DEPTH + 1}, and a stack may be at most ${MAX_STACK_DEPTH} deep`,
    );
    // Beside the top, at the same depth, is fine.
    const beside = await cli(
      'create',
      'beside',
      '--table',
      `0 ${SECTORS} linear /dev/mapper/d${MAX_STACK_DEPTH - 2} 0`,
    );
    expect(beside.stderr).toBe('');
    expect(beside.status).toBe(0);
    // Reloading the bottom over another mapped device would push every chain one deeper.
    expect((await cli('create', 'under', '--table', `0 ${SECTORS} zero`)).status).toBe(0);
    const reload = await cli('load', 'd0', '--table', `0 ${SECTORS} linear /dev/mapper/under 0`);
    expect(reload.status).not.toBe(0);
    expect(reload.stderr).toContain(`and the ${MAX_STACK_DEPTH - 1} stacked on it would make ${MAX_STACK_DEPTH + 1}`);
    const state = JSON.parse(await readFile(join(dir, 'state.json'), 'utf8')) as { devices: RecordedDevice[] };
    expect(state.devices.map((d) => d.name)).toContain('beside');
    expect(state.devices.map((d) => d.name)).not.toContain('over');
    expect(state.devices.find((d) => d.name === 'd0')?.table).toEqual([
      `0 ${SECTORS} linear ${join(dir, 'bottom.img')} 0`,
    ]);
    await ioThrough(top, 0xa5);
  }, 60_000);
});
