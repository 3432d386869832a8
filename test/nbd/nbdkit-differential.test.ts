// Differential test against nbdkit, the reference server: the same requests, bad ones included, sent to
// nbdkit's memory plugin and to a dmsim export of the same size must get the same error numbers. Skips,
// saying so, where nbdkit is not installed. (Where dmsim deliberately differs — unaligned requests, reads
// above 32 MiB — is tested in protocol.test.ts against proto.md.)

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { NbdServer } from '../../src/nbd/server.js';
import { openExport, type RawClient } from './support/raw-client.js';

const haveNbdkit = spawnSync('sh', ['-c', 'command -v nbdkit']).status === 0;
if (!haveNbdkit) console.warn('test/nbd/nbdkit-differential: skipped: nbdkit not installed (apt-get install nbdkit)');

const SIZE = 1024 * 1024;
const payload = (n: number): Buffer => Buffer.alloc(n, 0x3c);

/** Each case: a name and how to send it; the answer is the error number of the reply. */
const CASES: Array<[string, (c: RawClient) => void]> = [
  ['read past the end', (c) => c.request(0, SIZE - 512, 1024)],
  ['write past the end', (c) => c.request(1, SIZE, 512, { payload: payload(512) })],
  ['trim past the end', (c) => c.request(4, SIZE - 512, 4096)],
  ['write zeroes past the end', (c) => c.request(6, SIZE - 512, 4096)],
  ['offset 2^63', (c) => c.request(0, 2n ** 63n, 512)],
  ['unknown command', (c) => c.request(9, 0, 0)],
  ['unknown flag', (c) => c.request(0, 0, 512, { flags: 0x80 })],
  ['NO_HOLE on a write', (c) => c.request(1, 0, 512, { flags: 2, payload: payload(512) })],
  ['flush with a length', (c) => c.request(3, 0, 512)],
  ['write', (c) => c.request(1, 4096, 4096, { payload: payload(4096) })],
  ['FUA write', (c) => c.request(1, 0, 512, { flags: 1, payload: payload(512) })],
  ['trim', (c) => c.request(4, 0, 4096)],
  ['write zeroes', (c) => c.request(6, 0, 4096)],
  ['flush', (c) => c.request(3, 0, 0)],
];

async function answers(target: string, name: string): Promise<Record<string, number>> {
  const c = await openExport(target, name);
  const out: Record<string, number> = {};
  try {
    for (const [what, send] of CASES) {
      send(c);
      out[what] = (await c.reply()).error;
    }
  } finally {
    c.close();
  }
  return out;
}

let dir: string;
let server: NbdServer;
const kits: ChildProcess[] = [];

async function startNbdkit(sock: string, readOnly: boolean): Promise<void> {
  const p = spawn('nbdkit', ['--foreground', '--unix', sock, ...(readOnly ? ['--readonly'] : []), 'memory', `size=${SIZE}`], { stdio: 'ignore' });
  kits.push(p);
  // Waits for the socket to appear (no probe connection: nbdkit would log it as an error).
  for (let i = 0; i < 2000; i++) {
    if (await stat(sock).then(() => true, () => false)) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error('nbdkit did not create its socket');
}

beforeAll(async () => {
  if (!haveNbdkit) return;
  dir = await mkdtemp(join(tmpdir(), 'dmsim-nbd-diff-'));
  server = await NbdServer.listen({ kind: 'unix', path: join(dir, 'dmsim.sock') });
  server.add({ name: 'rw', device: new MemoryDevice('rw', SIZE / 512), readOnly: false });
  server.add({ name: 'ro', device: new MemoryDevice('ro', SIZE / 512), readOnly: true });
  await startNbdkit(join(dir, 'kit-rw.sock'), false);
  await startNbdkit(join(dir, 'kit-ro.sock'), true);
});

afterAll(async () => {
  if (!haveNbdkit) return;
  for (const k of kits) k.kill('SIGTERM');
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!haveNbdkit)('dmsim answers like nbdkit', () => {
  it('on a writable export', async () => {
    const kit = await answers(join(dir, 'kit-rw.sock'), '');
    expect(kit['write past the end']).toBe(28); // the reference really did refuse: the comparison means something
    expect(await answers(join(dir, 'dmsim.sock'), 'rw')).toEqual(kit);
  });

  it('on a read-only export', async () => {
    const kit = await answers(join(dir, 'kit-ro.sock'), '');
    expect(kit['write']).toBe(1);
    expect(await answers(join(dir, 'dmsim.sock'), 'ro')).toEqual(kit);
  });
});
