// Differential test against nbdkit, the reference server: the same requests, bad ones included, sent to
// nbdkit's memory plugin and to a dmsim export of the same size must get the same error numbers.
// nbdkit's answers are recorded in fixtures/nbd/nbdkit-answers.json (nbdkit 1.32.5, Debian 12), so dmsim is
// checked against them everywhere; where nbdkit is installed the recording is checked against it live, and
// `DMSIM_RECORD_NBDKIT=1 npx vitest run test/nbd/nbdkit-differential.test.ts` records it again.
// (Where dmsim deliberately differs — unaligned requests, reads above 32 MiB — is tested in
// protocol.test.ts against proto.md.)

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { NbdServer } from '../../src/nbd/server.js';
import { describeNeeding, missingTools } from '../support/prerequisites.js';
import { onFileChange, waitFor } from '../support/wait.js';
import { openExport, type RawClient } from './support/raw-client.js';

const FIXTURE = fileURLToPath(new URL('../../fixtures/nbd/nbdkit-answers.json', import.meta.url));
type Answers = Record<string, number>;

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
  // nbdkit writes its PID file only once it accepts connections (the socket file exists from bind(), before
  // listen(): a client connecting in between is refused).
  const pidFile = `${sock}.pid`;
  const p = spawn(
    'nbdkit',
    [
      '--foreground',
      '--unix',
      sock,
      '--pidfile',
      pidFile,
      ...(readOnly ? ['--readonly'] : []),
      'memory',
      `size=${SIZE}`,
    ],
    { stdio: 'ignore' },
  );
  kits.push(p);
  await waitFor(
    `nbdkit to accept connections at ${sock} (its PID file)`,
    () => (existsSync(pidFile) ? true : undefined),
    onFileChange(dirname(sock)),
    () => `nbdkit ${p.exitCode === null ? 'is running' : `exited with ${p.exitCode}`}`,
  );
}

let recorded: { rw: Answers; ro: Answers };

beforeAll(async () => {
  recorded = JSON.parse(await readFile(FIXTURE, 'utf8')) as { rw: Answers; ro: Answers };
  dir = await mkdtemp(join(tmpdir(), 'dmsim-nbd-diff-'));
  server = await NbdServer.listen({ kind: 'unix', path: join(dir, 'dmsim.sock') });
  server.add({ name: 'rw', device: new MemoryDevice('rw', SIZE / 512), readOnly: false });
  server.add({ name: 'ro', device: new MemoryDevice('ro', SIZE / 512), readOnly: true });
});

afterAll(async () => {
  for (const k of kits) k.kill('SIGTERM');
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('dmsim answers as nbdkit did', () => {
  it('the recording has every case, and nbdkit really refused (the comparison means something)', () => {
    for (const mode of ['rw', 'ro'] as const)
      expect(Object.keys(recorded[mode]).sort()).toEqual(CASES.map(([w]) => w).sort());
    expect(recorded.rw['write past the end']).toBe(28);
    expect(recorded.ro.write).toBe(1);
  });

  it.each(['rw', 'ro'] as const)('on a %s export', async (mode) => {
    expect(await answers(join(dir, 'dmsim.sock'), mode)).toEqual(recorded[mode]);
  });
});

describeNeeding(missingTools('nbdkit'), 'the recording still matches nbdkit', () => {
  it('live nbdkit memory plugin, writable and read-only', async () => {
    await startNbdkit(join(dir, 'kit-rw.sock'), false);
    await startNbdkit(join(dir, 'kit-ro.sock'), true);
    const live = { rw: await answers(join(dir, 'kit-rw.sock'), ''), ro: await answers(join(dir, 'kit-ro.sock'), '') };
    if (process.env.DMSIM_RECORD_NBDKIT) await writeFile(FIXTURE, `${JSON.stringify(live, null, 2)}\n`);
    expect(live).toEqual(recorded);
  });
});
