// A raw NBD client for the protocol tests: speaks the handshake and transmission byte by byte, so tests can
// also speak it wrongly (bad magic, oversize lengths, a write cut off in the middle).

import { connect, type Socket } from 'node:net';
import {
  decodeOptionReply,
  decodeSimpleReply,
  encodeInfoRequest,
  encodeOption,
  encodeRequestHeader,
  type OptionReply,
} from '../../../src/nbd/codec.js';
import { SocketReader } from '../../../src/nbd/socket-reader.js';

export class RawClient {
  readonly reader: SocketReader;
  /** Settles when the server (or we) closed the connection. */
  readonly closed: Promise<void>;
  private nextHandle = 1n;

  private constructor(readonly socket: Socket) {
    this.reader = new SocketReader(socket);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
    socket.on('error', () => undefined);
  }

  static connect(target: string | { host: string; port: number }): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const s = typeof target === 'string' ? connect(target) : connect(target.port, target.host);
      s.once('error', reject);
      s.once('connect', () => resolve(new RawClient(s)));
    });
  }

  /** Reads the 18-byte greeting and answers with client flags (default FIXED_NEWSTYLE|NO_ZEROES). */
  async greet(clientFlags = 3): Promise<Buffer> {
    const greeting = await this.reader.read(18);
    const f = Buffer.alloc(4);
    f.writeUInt32BE(clientFlags);
    this.socket.write(f);
    return greeting;
  }

  option(option: number, data?: Buffer): void {
    this.socket.write(encodeOption(option, data));
  }

  async optionReply(): Promise<OptionReply> {
    const head = await this.reader.read(20);
    const data = await this.reader.read(head.readUInt32BE(16));
    return decodeOptionReply(Buffer.concat([head, data]));
  }

  /** OPT_GO with the given name; resolves with the replies up to the final one. */
  async go(name: string, infos: number[] = []): Promise<OptionReply[]> {
    this.option(7, encodeInfoRequest({ name, infos }));
    const replies: OptionReply[] = [];
    for (;;) {
      const r = await this.optionReply();
      replies.push(r);
      if (r.type !== 3) return replies;
    }
  }

  /** Sends one request; returns its handle as a bigint. */
  request(
    type: number,
    offset: number | bigint,
    length: number,
    options: { flags?: number; payload?: Buffer } = {},
  ): bigint {
    const handle = this.nextHandle++;
    const h = Buffer.alloc(8);
    h.writeBigUInt64BE(handle);
    this.socket.write(
      encodeRequestHeader({ flags: options.flags ?? 0, type, handle: h, offset: BigInt(offset), length }),
    );
    if (options.payload) this.socket.write(options.payload);
    return handle;
  }

  async reply(): Promise<{ error: number; handle: bigint }> {
    const r = decodeSimpleReply(await this.reader.read(16));
    return { error: r.error, handle: r.handle.readBigUInt64BE(0) };
  }

  close(): void {
    this.socket.destroy();
  }
}

/** A handshake that ends in transmission on `name`. */
export async function openExport(target: string | { host: string; port: number }, name: string): Promise<RawClient> {
  const c = await RawClient.connect(target);
  await c.greet();
  const replies = await c.go(name);
  if (replies.at(-1)?.type !== 1) throw new Error(`OPT_GO ${name} failed: type 0x${replies.at(-1)?.type.toString(16)}`);
  return c;
}
