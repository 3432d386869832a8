// Hostile input against the real daemon process (the one `dmsim daemon --state` runs): random request lines,
// oversize lines and I/O requests, clients that vanish mid-request, garbage on an NBD export. After each the
// daemon must still be running, answer with a clear error (JSON, a DmError code and a message), keep the data
// of a device nobody touched, and keep a state file that parses.

import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlClient } from '../../src/control/client.js';
import { MAX_IO_SECTORS, MAX_LINE_BYTES } from '../../src/control/protocol.js';
import { readStateFile } from '../../src/control/state-file.js';
import { type DaemonHandle, startDaemon } from '../support/daemon-process.js';
import { makeImage } from './support/files.js';
import { writeData } from './support/sector-model.js';

let dir = '';
let socket = '';
let state = '';
let daemon: DaemonHandle;
const KEEP_SECTORS = 256;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dmsim-hostile-'));
  socket = join(dir, 'control');
  state = join(dir, 'state.json');
  await makeImage(join(dir, 'keep.img'), writeData(0, KEEP_SECTORS, 1));
  await makeImage(join(dir, 'scratch.img'), 256 * 512);
  daemon = await startDaemon(socket, ['--state', state]);
  const c = await ControlClient.connect(socket);
  await c.request('create', { name: 'keep', table: `0 ${KEEP_SECTORS} linear ${join(dir, 'keep.img')} 0` });
  c.close();
});

afterAll(async () => {
  await daemon?.kill('SIGTERM');
  await rm(dir, { recursive: true, force: true });
});

/** Sends raw bytes on a new connection and collects reply lines until `replies` arrived or the daemon closed. */
function exchange(bytes: string | Buffer, replies: number): Promise<{ lines: string[]; closed: boolean }> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect(socket);
    let buf = '';
    let closed = false;
    const done = (): void => {
      s.destroy();
      resolve({ lines: buf.split('\n').filter((l) => l !== ''), closed });
    };
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      if (buf.split('\n').filter((l) => l !== '').length >= replies) done();
    });
    s.on('close', () => {
      closed = true;
      done();
    });
    s.on('error', (e) => (closed ? undefined : reject(e)));
    s.write(bytes);
    if (replies === 0) s.end();
  });
}

/** The daemon is up, answers, and the untouched device and the state file are as they were. */
async function stillHealthy(): Promise<void> {
  expect(daemon.alive()).toBe(true);
  const c = await ControlClient.connect(socket);
  try {
    expect((await c.request('version', {})).driver).toBe('4.47.0');
    expect((await c.read('keep', 0, KEEP_SECTORS)).equals(writeData(0, KEEP_SECTORS, 1))).toBe(true);
  } finally {
    c.close();
  }
  expect((await readStateFile(state))?.devices.map((d) => d.name)).toContain('keep');
}

function checkReply(line: string): void {
  const r = JSON.parse(line) as { ok: boolean; error?: { code: string; message: string } };
  if (!r.ok) {
    expect(r.error?.code).toMatch(/^E[A-Z]+$/);
    expect(r.error?.message.length).toBeGreaterThan(0);
  }
}

describe('the daemon process under hostile input', () => {
  it('answers every random request line with one JSON reply, and stays healthy', async () => {
    const scratch = join(dir, 'scratch.img');
    // Verbs that change or use devices, with arguments from dangerous to plain; never the device `keep`.
    // (wait/events/export stay open by design and suspend parks I/O: they are tested on their own.)
    const name = fc.oneof(
      fc.constantFrom('fz0', 'fz1', '', '..', 'a/b', 'x'.repeat(200)),
      fc.string({ maxLength: 8 }).filter((n) => n !== 'keep'),
    );
    const num = fc.oneof(fc.integer({ min: -5, max: 1 << 20 }), fc.constantFrom(1e300, -0, 0.5, 2 ** 53, Number.NaN));
    const table = fc.oneof(
      fc.constantFrom(
        `0 64 linear ${scratch} 0`,
        `0 64 linear ${scratch} 200`,
        '0 64 zero',
        '0 64 error',
        `0 64 snapshot-origin ${scratch}`,
        `0 64 mirror core 1 8 2 ${scratch} 0 ${scratch} 64`,
      ),
      fc.string({ maxLength: 40 }),
    );
    const request = fc.oneof(
      fc.record({ verb: fc.constantFrom('create', 'load'), args: fc.record({ name, table }) }),
      fc.record({
        verb: fc.constantFrom('resume', 'remove', 'clear', 'status', 'table', 'info', 'deps', 'flush'),
        args: fc.record({ name }),
      }),
      fc.record({ verb: fc.constant('read'), args: fc.record({ name, sector: num, count: num }) }),
      fc.record({
        verb: fc.constant('write'),
        args: fc.record({ name, sector: num, data: fc.oneof(fc.base64String({ maxLength: 1400 }), fc.string()) }),
      }),
      fc.record({
        verb: fc.constant('message'),
        args: fc.record({ name, sector: num, message: fc.array(fc.string({ maxLength: 8 }), { maxLength: 4 }) }),
      }),
      fc.record({ verb: fc.string({ maxLength: 8 }), args: fc.anything() }),
    );
    const line = fc.oneof(
      fc.tuple(fc.nat(), request).map(([id, r]) => JSON.stringify({ id, ...r })),
      fc.json().filter((j) => !j.includes('\n')),
      fc
        .string({ maxLength: 60 })
        .map((s) => s.replace(/\n/g, ' '))
        .filter((s) => s.trim() !== ''),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(line, { minLength: 1, maxLength: 8 }), async (lines) => {
        const { lines: replies } = await exchange(lines.map((l) => `${l}\n`).join(''), lines.length);
        expect(replies).toHaveLength(lines.length);
        for (const r of replies) checkReply(r);
      }),
      { numRuns: 150 },
    );
    await stillHealthy();
  });

  it('closes a connection that sends a line over the limit, with an error that says so', async () => {
    // Waits for a second reply that never comes: the daemon closes the connection after the first.
    const { lines, closed } = await exchange(Buffer.alloc(MAX_LINE_BYTES + 10, 'x'), 2);
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({
      id: null,
      ok: false,
      error: { code: 'EINVAL', message: expect.stringMatching(/longer than/) },
    });
    expect(closed).toBe(true);
    await stillHealthy();
  });

  it('refuses oversize and out-of-range I/O with EINVAL/EIO naming the limit, device and sector', async () => {
    const c = await ControlClient.connect(socket);
    try {
      await expect(c.request('read', { name: 'keep', sector: 0, count: MAX_IO_SECTORS + 1 })).rejects.toMatchObject({
        code: 'EINVAL',
        message: expect.stringMatching(`1 to ${MAX_IO_SECTORS} sectors`),
      });
      const big = Buffer.alloc((MAX_IO_SECTORS + 1) * 512).toString('base64');
      await expect(c.request('write', { name: 'keep', sector: 0, data: big })).rejects.toMatchObject({
        code: 'EINVAL',
      });
      await expect(
        c.request('write', { name: 'keep', sector: 0, data: Buffer.alloc(100).toString('base64') }),
      ).rejects.toMatchObject({
        code: 'EINVAL',
        message: expect.stringMatching(/not a whole number of 512-byte sectors/),
      });
      await expect(c.request('read', { name: 'keep', sector: KEEP_SECTORS - 1, count: 2 })).rejects.toMatchObject({
        code: 'EIO',
        message: expect.stringMatching(new RegExp(`keep.*sector ${KEEP_SECTORS - 1}`)),
      });
    } finally {
      c.close();
    }
    await stillHealthy();
  });

  it('survives clients that disconnect mid-line, mid-request and before a big reply', async () => {
    const big = JSON.stringify({ id: 1, verb: 'read', args: { name: 'keep', sector: 0, count: KEEP_SECTORS } });
    const write = JSON.stringify({
      id: 2,
      verb: 'write',
      args: { name: 'fz-gone', sector: 0, data: Buffer.alloc(512).toString('base64') },
    });
    for (let i = 0; i < 30; i++) {
      const text = [big.slice(0, i * 3), `${big}\n`, `${write}\n${big}\n`][i % 3]!;
      await new Promise<void>((resolve) => {
        const s = connect(socket, () => {
          s.write(text);
          if (i % 2 === 0) s.destroy();
          else setImmediate(() => s.destroy());
          resolve();
        });
        s.on('error', () => resolve());
      });
    }
    await stillHealthy();
  });

  it('survives random bytes on an NBD export of a device, then unexports cleanly', async () => {
    const c = await ControlClient.connect(socket);
    const nbd = join(dir, 'nbd.sock');
    try {
      await c.request('export', { name: 'keep', listen: `unix:${nbd}` });
      await fc.assert(
        fc.asyncProperty(fc.uint8Array({ minLength: 1, maxLength: 300 }), async (bytes) => {
          await new Promise<void>((resolve) => {
            const s = connect(nbd, () => {
              s.write(Buffer.from(bytes));
              setTimeout(() => s.destroy(), 5);
            });
            s.on('close', () => resolve());
            s.on('error', () => resolve());
          });
        }),
        { numRuns: 40 },
      );
      await c.request('unexport', { name: 'keep' });
    } finally {
      c.close();
    }
    await stillHealthy();
  });
});
