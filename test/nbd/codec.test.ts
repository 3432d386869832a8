// The NBD codec under fast-check: messages round-trip, their byte layout is proto.md's (checked with a
// DataView written here, not with the codec), and any bytes at all decode to a message or a ProtocolError,
// never anything else. Then whole random byte streams thrown at a live server: it never falls over.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryDevice } from '../../src/block/memory-device.js';
import {
  decodeInfoRequest,
  decodeOptionHeader,
  decodeOptionReply,
  decodeRequestHeader,
  encodeInfoRequest,
  encodeOptionReply,
  encodeRequestHeader,
  encodeSimpleReply,
  ProtocolError,
} from '../../src/nbd/codec.js';
import { NbdServer } from '../../src/nbd/server.js';
import { openExport, RawClient } from './support/raw-client.js';

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const u64 = fc.bigInt({ min: 0n, max: 2n ** 64n - 1n });
const handle = fc.uint8Array({ minLength: 8, maxLength: 8 }).map((a) => Buffer.from(a));

function decodesOrRefuses(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ProtocolError);
  }
}

describe('NBD codec', () => {
  it("a request header is proto.md's 28 bytes and round-trips", () => {
    fc.assert(
      fc.property(u16, u16, handle, u64, u32, (flags, type, h, offset, length) => {
        const bytes = encodeRequestHeader({ flags, type, handle: h, offset, length });
        const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
        expect(bytes.length).toBe(28);
        expect(v.getUint32(0)).toBe(0x25609513);
        expect([v.getUint16(4), v.getUint16(6), v.getBigUint64(16), v.getUint32(24)]).toEqual([
          flags,
          type,
          offset,
          length,
        ]);
        expect(bytes.subarray(8, 16).equals(h)).toBe(true);
        expect(decodeRequestHeader(bytes)).toEqual({ flags, type, handle: h, offset, length });
      }),
    );
  });

  it('a simple reply is magic 0x67446698, error, handle', () => {
    fc.assert(
      fc.property(u32, handle, (error, h) => {
        const b = encodeSimpleReply(error, h);
        expect(b.length).toBe(16);
        expect([b.readUInt32BE(0), b.readUInt32BE(4)]).toEqual([0x67446698, error]);
        expect(b.subarray(8).equals(h)).toBe(true);
      }),
    );
  });

  it('an option reply round-trips with the 0x3e889045565a9 magic', () => {
    fc.assert(
      fc.property(u32, u32, fc.uint8Array({ maxLength: 300 }), (option, type, data) => {
        const b = encodeOptionReply(option, type, Buffer.from(data));
        expect(b.readBigUInt64BE(0)).toBe(0x3e889045565a9n);
        expect(b.readUInt32BE(16)).toBe(data.length);
        expect(decodeOptionReply(b)).toEqual({ option, type, data: Buffer.from(data) });
      }),
    );
  });

  it('OPT_INFO/OPT_GO data round-trips for any name and info list', () => {
    const name = fc.string({ unit: 'grapheme', maxLength: 60 }).filter((s) => !s.includes('\u0000'));
    fc.assert(
      fc.property(name, fc.array(u16, { maxLength: 20 }), (n, infos) => {
        const b = encodeInfoRequest({ name: n, infos });
        expect(b.readUInt32BE(0)).toBe(Buffer.byteLength(n));
        expect(decodeInfoRequest(b)).toEqual({ name: n, infos });
      }),
    );
  });

  it('any bytes decode to a message or a ProtocolError, never another failure', () => {
    const bytes = fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a));
    fc.assert(
      fc.property(bytes, (b) => {
        decodesOrRefuses(() => decodeRequestHeader(b));
        decodesOrRefuses(() => decodeOptionHeader(b));
        decodesOrRefuses(() => decodeOptionReply(b));
        decodesOrRefuses(() => {
          // What decodes must be exactly what encodes back: nothing in the input is silently dropped.
          const r = decodeInfoRequest(b);
          expect(encodeInfoRequest(r).equals(b)).toBe(true);
        });
      }),
      { numRuns: 2000 },
    );
  });
});

describe('NBD server under random bytes', () => {
  it('random handshakes and request streams close or refuse, and a good client is still served afterwards', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dmsim-nbd-fuzz-'));
    const path = join(dir, 'nbd.sock');
    const server = await NbdServer.listen({ kind: 'unix', path });
    const mem = new MemoryDevice('mem', 64);
    server.add({ name: 'mem', device: mem, readOnly: false });
    const stamp = Buffer.alloc(512, 0x5a);
    await mem.write(3, stamp);
    try {
      await fc.assert(
        fc.asyncProperty(fc.boolean(), fc.uint8Array({ maxLength: 200 }), async (afterHandshake, junk) => {
          const c = afterHandshake ? await openExport(path, 'mem') : await RawClient.connect(path);
          if (!afterHandshake) await c.greet();
          c.socket.write(Buffer.from(junk));
          c.socket.end();
          await c.closed;
          // The server is still there, still in step, and sector 3 was not touched by junk that never formed a write.
          const good = await openExport(path, 'mem');
          good.request(0, 3 * 512, 512);
          expect((await good.reply()).error).toBe(0);
          expect((await good.reader.read(512)).length).toBe(512);
          good.close();
        }),
        { numRuns: 60 },
      );
    } finally {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
