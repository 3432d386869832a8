// The NBD server against raw sockets: the handshake and transmission as proto.md defines them, and what bad
// or hostile clients get (the protocol's error numbers, or a closed connection), while the server and the
// other clients carry on and no acknowledged write is lost. Expected numbers are proto.md's, written out.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NotSupportedError } from '../../src/base/errors.js';
import { DISK_DISCARDS, type DiscardLimits, NO_DISCARDS } from '../../src/block/block-device.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { encodeInfoRequest } from '../../src/nbd/codec.js';
import { NbdServer } from '../../src/nbd/server.js';
import { GatedDevice } from './support/gated-device.js';
import { openExport, RawClient } from './support/raw-client.js';

// proto.md values, spelled out independently of src/nbd/codec.ts.
const OPT = {
  EXPORT_NAME: 1,
  ABORT: 2,
  LIST: 3,
  STARTTLS: 5,
  INFO: 6,
  GO: 7,
  STRUCTURED_REPLY: 8,
  SET_META_CONTEXT: 10,
};
const REP = { ACK: 1, SERVER: 2, INFO: 3, ERR_UNSUP: 2 ** 31 + 1, ERR_INVALID: 2 ** 31 + 3, ERR_UNKNOWN: 2 ** 31 + 6 };
const CMD = { READ: 0, WRITE: 1, DISC: 2, FLUSH: 3, TRIM: 4, WRITE_ZEROES: 6 };
const E = { PERM: 1, INVAL: 22, NOSPC: 28, OVERFLOW: 75, SHUTDOWN: 108 };
const FUA = 1;

const SECTORS = 2048; // 1 MiB
const SIZE = SECTORS * 512;

let dir: string;
let path: string;
let server: NbdServer;
let dev: GatedDevice;
let roDev: GatedDevice;
const clients: RawClient[] = [];

async function open(name = 'mem'): Promise<RawClient> {
  const c = await openExport(path, name);
  clients.push(c);
  return c;
}

async function raw(): Promise<RawClient> {
  const c = await RawClient.connect(path);
  clients.push(c);
  return c;
}

/** Yields to the event loop until cond holds (no timers: the server runs in this process). */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 10000 && !cond(); i++) await new Promise((r) => setImmediate(r));
  expect(cond()).toBe(true);
}

function fill(byte: number, bytes: number): Buffer {
  return Buffer.alloc(bytes, byte);
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dmsim-nbd-'));
  path = join(dir, 'nbd.sock');
  server = await NbdServer.listen({ kind: 'unix', path });
  dev = new GatedDevice(SECTORS);
  roDev = new GatedDevice(SECTORS);
  server.add({ name: 'mem', device: dev, readOnly: false });
  server.add({ name: 'ro', device: roDev, readOnly: true });
});

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  await server.close();
  await rm(dir, { recursive: true, force: true });
});

describe('handshake', () => {
  it('greets with NBDMAGIC, IHAVEOPT and the FIXED_NEWSTYLE|NO_ZEROES handshake flags', async () => {
    const c = await raw();
    const g = await c.greet();
    expect(g.subarray(0, 16).toString('latin1')).toBe('NBDMAGICIHAVEOPT');
    expect(g.readUInt16BE(16)).toBe(0b11);
  });

  it('closes the connection on client flags it does not know', async () => {
    const c = await raw();
    await c.greet(0x3 | 0x80);
    await c.closed;
    expect(c.socket.destroyed).toBe(true);
  });

  it('closes the connection when an option does not start with IHAVEOPT', async () => {
    const c = await raw();
    await c.greet();
    c.socket.write(Buffer.alloc(16, 0x41));
    await c.closed;
  });

  it('answers options it does not implement with REP_ERR_UNSUP and goes on', async () => {
    const c = await raw();
    await c.greet();
    for (const o of [OPT.STARTTLS, OPT.STRUCTURED_REPLY, OPT.SET_META_CONTEXT, 9999]) {
      c.option(o, Buffer.alloc(4));
      const r = await c.optionReply();
      expect([r.option, r.type]).toEqual([o, REP.ERR_UNSUP]);
    }
    expect((await c.go('mem')).at(-1)?.type).toBe(REP.ACK);
  });

  it('lists every export with REP_SERVER, then ACK; refuses OPT_LIST with data', async () => {
    const c = await raw();
    await c.greet();
    c.option(OPT.LIST);
    const names: string[] = [];
    for (;;) {
      const r = await c.optionReply();
      if (r.type === REP.ACK) break;
      expect(r.type).toBe(REP.SERVER);
      names.push(r.data.subarray(4, 4 + r.data.readUInt32BE(0)).toString());
    }
    expect(names).toEqual(['mem', 'ro']);
    c.option(OPT.LIST, Buffer.from('x'));
    expect((await c.optionReply()).type).toBe(REP.ERR_INVALID);
  });

  it('OPT_INFO and OPT_GO: size and flags in INFO_EXPORT, block sizes, ACK; unknown and malformed requests are errors', async () => {
    const c = await raw();
    await c.greet();
    c.option(OPT.INFO, encodeInfoRequest({ name: 'nosuch', infos: [] }));
    const unknown = await c.optionReply();
    expect(unknown.type).toBe(REP.ERR_UNKNOWN);
    expect(unknown.data.toString()).toContain('nosuch');
    // Name length says 100 bytes, only 3 follow.
    const bad = Buffer.alloc(9);
    bad.writeUInt32BE(100);
    c.option(OPT.GO, bad);
    expect((await c.optionReply()).type).toBe(REP.ERR_INVALID);
    const replies = await c.go('ro', [1, 3]);
    const exportInfo = replies.find((r) => r.type === REP.INFO && r.data.readUInt16BE(0) === 0)!;
    expect(Number(exportInfo.data.readBigUInt64BE(2))).toBe(SIZE);
    const flags = exportInfo.data.readUInt16BE(10);
    expect(flags & 1).toBe(1); // HAS_FLAGS
    expect(flags & 2).toBe(2); // READ_ONLY
    expect(flags & 4).toBe(4); // SEND_FLUSH
    expect(flags & (32 | 64)).toBe(0); // no TRIM or WRITE_ZEROES on a read-only export
    const name = replies.find((r) => r.type === REP.INFO && r.data.readUInt16BE(0) === 1)!;
    expect(name.data.subarray(2).toString()).toBe('ro');
    const bs = replies.find((r) => r.type === REP.INFO && r.data.readUInt16BE(0) === 3)!;
    expect([bs.data.readUInt32BE(2), bs.data.readUInt32BE(6), bs.data.readUInt32BE(10)]).toEqual([
      512,
      4096,
      32 * 1024 * 1024,
    ]);
    expect(replies.at(-1)?.type).toBe(REP.ACK);
  });

  it('reads past option data longer than it accepts, refuses it, and carries on', async () => {
    const c = await raw();
    await c.greet();
    c.option(OPT.GO, Buffer.alloc(1024 * 1024));
    expect((await c.optionReply()).type).toBe(REP.ERR_INVALID);
    expect((await c.go('mem')).at(-1)?.type).toBe(REP.ACK);
  });

  it('OPT_EXPORT_NAME: size, flags and 124 zeroes unless NO_ZEROES; an unknown name closes the session', async () => {
    const withZeroes = await raw();
    await withZeroes.greet(1);
    withZeroes.option(OPT.EXPORT_NAME, Buffer.from('mem'));
    const answer = await withZeroes.reader.read(8 + 2 + 124);
    expect(Number(answer.readBigUInt64BE(0))).toBe(SIZE);
    expect(answer.readUInt16BE(8) & 0b1111101).toBe(1 | 4 | 8 | 32 | 64);
    expect(answer.subarray(10).equals(Buffer.alloc(124))).toBe(true);
    // Transmission works right after it.
    withZeroes.request(CMD.READ, 0, 512);
    expect((await withZeroes.reply()).error).toBe(0);

    const unknown = await raw();
    await unknown.greet();
    unknown.option(OPT.EXPORT_NAME, Buffer.from('nosuch'));
    await unknown.closed;
  });

  it('the empty name is the default export only when there is exactly one', async () => {
    const c = await raw();
    await c.greet();
    expect((await c.go('')).at(-1)?.type).toBe(REP.ERR_UNKNOWN);
    await server.remove('ro');
    expect((await c.go('')).at(-1)?.type).toBe(REP.ACK);
  });

  it('OPT_ABORT is acknowledged, then the server closes', async () => {
    const c = await raw();
    await c.greet();
    c.option(OPT.ABORT);
    expect((await c.optionReply()).type).toBe(REP.ACK);
    await c.closed;
  });
});

describe('transmission', () => {
  it('writes and reads back; TRIM and WRITE_ZEROES reach the device; replies carry the handles', async () => {
    const c = await open();
    const w = c.request(CMD.WRITE, 4096, 8192, { payload: fill(0xab, 8192) });
    expect(await c.reply()).toEqual({ error: 0, handle: w });
    const r = c.request(CMD.READ, 4096, 8192);
    expect(await c.reply()).toEqual({ error: 0, handle: r });
    expect((await c.reader.read(8192)).equals(fill(0xab, 8192))).toBe(true);
    c.request(CMD.WRITE_ZEROES, 4096, 4096);
    expect((await c.reply()).error).toBe(0);
    const after = Buffer.alloc(8192);
    await dev.mem.read(8, after);
    expect(after.equals(Buffer.concat([Buffer.alloc(4096), fill(0xab, 4096)]))).toBe(true);
    c.request(CMD.TRIM, 8192, 4096);
    expect((await c.reply()).error).toBe(0);
    expect(dev.log).toContain('end discard@16');
  });

  it('offers TRIM only while the device takes discards; a TRIM it does not offer gets EINVAL and never reaches it', async () => {
    // A device whose live table can change under the export: it stops taking discards after the handshake.
    // (The device refuses with EOPNOTSUPP; the protocol has no such error for TRIM.)
    const mem = new MemoryDevice('nodiscard', SECTORS);
    let discards: DiscardLimits = DISK_DISCARDS;
    let refuses = false;
    const changing = {
      sizeSectors: SECTORS,
      readOnly: false,
      get discardLimits() {
        return discards;
      },
      read: (sector: number, buf: Buffer) => mem.read(sector, buf),
      write: (sector: number, buf: Buffer) => mem.write(sector, buf),
      flush: () => mem.flush(),
      discard: (sector: number, count: number) =>
        !refuses
          ? mem.discard(sector, count)
          : Promise.reject(new NotSupportedError('the device does not support discards')),
      close: () => mem.close(),
    };
    server.add({ name: 'changing', device: changing, readOnly: false });
    const flagsOf = async (name: string): Promise<number> => {
      const c = await raw();
      await c.greet();
      const info = (await c.go(name)).find((r) => r.type === REP.INFO && r.data.readUInt16BE(0) === 0)!;
      return info.data.readUInt16BE(10);
    };
    expect((await flagsOf('changing')) & 32).toBe(32); // SEND_TRIM
    const c = await open('changing');
    await mem.write(0, fill(0x11, 4096));
    discards = NO_DISCARDS;
    expect((await flagsOf('changing')) & 32).toBe(0);
    c.request(CMD.TRIM, 0, 4096);
    expect((await c.reply()).error).toBe(E.INVAL);
    const back = Buffer.alloc(4096);
    await mem.read(0, back);
    expect(back.equals(fill(0x11, 4096))).toBe(true);
    // Offered, but the device refuses (a table under it changed since it was loaded): EINVAL as well.
    discards = DISK_DISCARDS;
    refuses = true;
    c.request(CMD.TRIM, 0, 4096);
    expect((await c.reply()).error).toBe(E.INVAL);
  });

  it('refuses bad requests with the protocol errors and stays in step (payloads of refused writes are read past)', async () => {
    const c = await open();
    const cases: Array<[string, () => bigint, number]> = [
      ['read past the end', () => c.request(CMD.READ, SIZE - 512, 1024), E.INVAL],
      ['write past the end', () => c.request(CMD.WRITE, SIZE, 512, { payload: fill(1, 512) }), E.NOSPC],
      ['offset beyond 2^53', () => c.request(CMD.READ, 2n ** 63n, 512), E.INVAL],
      ['trim past the end', () => c.request(CMD.TRIM, SIZE - 512, 4096), E.INVAL],
      ['write zeroes past the end', () => c.request(CMD.WRITE_ZEROES, SIZE - 512, 4096), E.NOSPC],
      ['oversize read', () => c.request(CMD.READ, 0, 32 * 1024 * 1024 + 512), E.OVERFLOW],
      [
        'oversize write',
        () => c.request(CMD.WRITE, 0, 32 * 1024 * 1024 + 512, { payload: fill(2, 32 * 1024 * 1024 + 512) }),
        E.OVERFLOW,
      ],
      ['unaligned read', () => c.request(CMD.READ, 100, 512), E.INVAL],
      ['unaligned write', () => c.request(CMD.WRITE, 0, 100, { payload: fill(3, 100) }), E.INVAL],
      ['unknown command', () => c.request(9, 0, 0), E.INVAL],
      ['unknown flag', () => c.request(CMD.READ, 0, 512, { flags: 1 << 7 }), E.INVAL],
      ['NO_HOLE on a write', () => c.request(CMD.WRITE, 0, 512, { flags: 2, payload: fill(4, 512) }), E.INVAL],
      ['flush with a length', () => c.request(CMD.FLUSH, 0, 512), E.INVAL],
    ];
    for (const [what, send, errno] of cases) {
      const h = send();
      expect({ what, ...(await c.reply()) }).toEqual({ what, error: errno, handle: h });
    }
    // Still in step, and none of the refused writes reached the device.
    c.request(CMD.READ, 0, 512);
    expect((await c.reply()).error).toBe(0);
    expect((await c.reader.read(512)).equals(Buffer.alloc(512))).toBe(true);
    expect(dev.log.filter((l) => l.startsWith('start write'))).toEqual([]);
  });

  it('a read-only export answers writes, trims and zeroes with EPERM', async () => {
    const c = await open('ro');
    c.request(CMD.WRITE, 0, 512, { payload: fill(5, 512) });
    c.request(CMD.TRIM, 0, 512);
    c.request(CMD.WRITE_ZEROES, 0, 512);
    for (let i = 0; i < 3; i++) expect((await c.reply()).error).toBe(E.PERM);
    expect(roDev.log).toEqual([]);
  });

  it('serves requests concurrently and replies in the order they finish', async () => {
    const c = await open();
    const releaseA = dev.hold('read', 0);
    const a = c.request(CMD.READ, 0, 512);
    const b = c.request(CMD.READ, 512, 512);
    expect((await c.reply()).handle).toBe(b);
    await c.reader.read(512);
    releaseA();
    expect((await c.reply()).handle).toBe(a);
  });

  it('holds at most 64 MiB of READ/WRITE data in flight per connection; later requests wait their turn', async () => {
    const big = new GatedDevice(3 * 65536); // 96 MiB, sparse
    server.add({ name: 'big', device: big, readOnly: false });
    const c = await open('big');
    const releaseFirst = big.hold('read', 0);
    const releaseSecond = big.hold('read', 65536);
    const MiB32 = 32 * 1024 * 1024;
    const handles = [
      c.request(CMD.READ, 0, MiB32),
      c.request(CMD.READ, MiB32, MiB32),
      c.request(CMD.READ, 2 * MiB32, MiB32),
    ];
    const started = (): string[] => big.log.filter((l) => l.startsWith('start read'));
    await until(() => started().length === 2);
    for (let i = 0; i < 200; i++) await new Promise((r) => setImmediate(r));
    // Two 32 MiB reads hold 64 MiB: the third is not taken yet.
    expect(started()).toEqual(['start read@0', 'start read@65536']);
    releaseFirst();
    expect((await c.reply()).handle).toBe(handles[0]);
    await c.reader.skip(MiB32);
    await until(() => started().length === 3);
    expect((await c.reply()).handle).toBe(handles[2]);
    await c.reader.skip(MiB32);
    releaseSecond();
    expect((await c.reply()).handle).toBe(handles[1]);
    await c.reader.skip(MiB32);
  });

  it('FUA: the write is flushed before its reply; FLUSH answers only after the device flushed', async () => {
    const c = await open();
    const releaseFlush = dev.hold('flush');
    const w = c.request(CMD.WRITE, 0, 512, { flags: FUA, payload: fill(6, 512) });
    const r = c.request(CMD.READ, 512, 512);
    // The read overtakes the FUA write, which waits for its flush.
    expect((await c.reply()).handle).toBe(r);
    await c.reader.read(512);
    await until(() => dev.log.includes('start flush@0'));
    expect(dev.log.indexOf('start flush@0')).toBeGreaterThan(dev.log.indexOf('end write@0'));
    releaseFlush();
    expect((await c.reply()).handle).toBe(w);
    expect(dev.log.indexOf('end flush@0')).toBeGreaterThan(dev.log.indexOf('end write@0'));

    const releaseFlush2 = dev.hold('flush');
    const f = c.request(CMD.FLUSH, 0, 0);
    const r2 = c.request(CMD.READ, 0, 512);
    expect((await c.reply()).handle).toBe(r2);
    await c.reader.read(512);
    releaseFlush2();
    expect((await c.reply()).handle).toBe(f);
  });

  it('DISC: requests in flight are answered, then the server closes', async () => {
    const c = await open();
    const release = dev.hold('write', 8);
    const w = c.request(CMD.WRITE, 4096, 512, { payload: fill(7, 512) });
    c.request(CMD.DISC, 0, 0);
    release();
    expect(await c.reply()).toEqual({ error: 0, handle: w });
    await c.closed;
    const got = Buffer.alloc(512);
    await dev.mem.read(8, got);
    expect(got.equals(fill(7, 512))).toBe(true);
  });

  it('a wrong request magic closes that connection only; other clients and their acknowledged writes carry on', async () => {
    const good = await open();
    good.request(CMD.WRITE, 0, 512, { payload: fill(8, 512) });
    expect((await good.reply()).error).toBe(0);
    const bad = await open();
    bad.socket.write(Buffer.alloc(28, 0xff));
    await bad.closed;
    good.request(CMD.READ, 0, 512);
    expect((await good.reply()).error).toBe(0);
    expect((await good.reader.read(512)).equals(fill(8, 512))).toBe(true);
  });

  it('a client that disconnects in the middle of a write: that write never lands, acknowledged ones stay, the server carries on', async () => {
    const c = await open();
    c.request(CMD.WRITE, 0, 512, { payload: fill(9, 512) });
    expect((await c.reply()).error).toBe(0);
    c.request(CMD.WRITE, 512, 4096, { payload: fill(10, 2000) }); // 2000 of the 4096 bytes promised
    c.socket.end();
    await c.closed;
    const d = await open();
    d.request(CMD.READ, 0, 4608);
    expect((await d.reply()).error).toBe(0);
    const got = await d.reader.read(4608);
    expect(got.subarray(0, 512).equals(fill(9, 512))).toBe(true);
    expect(got.subarray(512).equals(Buffer.alloc(4096))).toBe(true);
  });

  it('withdrawing an export lets in-flight requests finish, answers later ones ESHUTDOWN, then closes', async () => {
    const c = await open();
    const release = dev.hold('write', 0);
    const w = c.request(CMD.WRITE, 0, 512, { payload: fill(11, 512) });
    await until(() => dev.log.includes('start write@0'));
    const removed = server.remove('mem');
    const late = c.request(CMD.READ, 0, 512);
    expect(await c.reply()).toEqual({ error: E.SHUTDOWN, handle: late });
    release();
    expect(await c.reply()).toEqual({ error: 0, handle: w });
    await removed;
    await c.closed;
  });
});
