// The NBD wire codec: every constant and every fixed-layout message of the subset dmsim speaks, encoded and
// decoded in one place (NetworkBlockDevice/nbd doc/proto.md; the kernel's include/uapi/linux/nbd.h).
// Modelled on esbuild's stdio_protocol: one small byte writer, one small byte reader that refuses to run
// past its end, and one function per message. Everything on the wire is big-endian.

import { DmError } from '../base/errors.js';

// ---- magics ----
const NBDMAGIC = 0x4e42444d41474943n;
const IHAVEOPT = 0x49484156454f5054n;
const OPTION_REPLY_MAGIC = 0x3e889045565a9n;
const REQUEST_MAGIC = 0x25609513;
const SIMPLE_REPLY_MAGIC = 0x67446698;

// ---- handshake flags (server) and client flags ----
export const FLAG_FIXED_NEWSTYLE = 1 << 0;
export const FLAG_NO_ZEROES = 1 << 1;
const CLIENT_FLAG_FIXED_NEWSTYLE = 1 << 0;
export const CLIENT_FLAG_NO_ZEROES = 1 << 1;
export const KNOWN_CLIENT_FLAGS = CLIENT_FLAG_FIXED_NEWSTYLE | CLIENT_FLAG_NO_ZEROES;

// ---- options and option replies ----
export const OPT_EXPORT_NAME = 1;
export const OPT_ABORT = 2;
export const OPT_LIST = 3;
export const OPT_INFO = 6;
export const OPT_GO = 7;

export const REP_ACK = 1;
export const REP_SERVER = 2;
export const REP_INFO = 3;
export const REP_ERR_UNSUP = 0x80000001;
export const REP_ERR_INVALID = 0x80000003;
export const REP_ERR_UNKNOWN = 0x80000006;

const INFO_EXPORT = 0;
export const INFO_NAME = 1;
const INFO_BLOCK_SIZE = 3;

// ---- transmission flags ----
export const TFLAG_HAS_FLAGS = 1 << 0;
export const TFLAG_READ_ONLY = 1 << 1;
export const TFLAG_SEND_FLUSH = 1 << 2;
export const TFLAG_SEND_FUA = 1 << 3;
export const TFLAG_SEND_TRIM = 1 << 5;
export const TFLAG_SEND_WRITE_ZEROES = 1 << 6;
export const TFLAG_CAN_MULTI_CONN = 1 << 8;

// ---- commands and command flags ----
export const CMD_READ = 0;
export const CMD_WRITE = 1;
export const CMD_DISC = 2;
export const CMD_FLUSH = 3;
export const CMD_TRIM = 4;
export const CMD_WRITE_ZEROES = 6;

export const CMD_FLAG_FUA = 1 << 0;
export const CMD_FLAG_NO_HOLE = 1 << 1;

// ---- errors in simple replies ----
export const NBD_EPERM = 1;
export const NBD_EIO = 5;
export const NBD_EINVAL = 22;
export const NBD_ENOSPC = 28;
export const NBD_EOVERFLOW = 75;
export const NBD_ESHUTDOWN = 108;

/** Sizes of the fixed parts. */
const GREETING_BYTES = 18;
export const OPTION_HEADER_BYTES = 16;
export const REQUEST_HEADER_BYTES = 28;
const SIMPLE_REPLY_BYTES = 16;
/** The zeroes that follow an OPT_EXPORT_NAME answer unless both sides agreed on NO_ZEROES. */
const EXPORT_NAME_PADDING = 124;
/** proto.md: strings (export names, messages) must be no longer than 4096 bytes. */
export const MAX_STRING_BYTES = 4096;

/** The peer broke the protocol in a way that leaves no sane reply: the connection is closed. */
export class ProtocolError extends DmError {
  constructor(message: string) {
    super('EINVAL', message);
  }
}

/** Appends big-endian fields to a growing buffer. */
class ByteWriter {
  private buf: Buffer;
  private len = 0;

  constructor(capacity = 64) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** Reserves n bytes (growing the buffer first: callers must read this.buf only after calling this). */
  private room(n: number): number {
    if (this.len + n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
      this.buf.copy(bigger, 0, 0, this.len);
      this.buf = bigger;
    }
    const at = this.len;
    this.len += n;
    return at;
  }

  u16(v: number): this {
    const at = this.room(2);
    this.buf.writeUInt16BE(v, at);
    return this;
  }

  u32(v: number): this {
    const at = this.room(4);
    this.buf.writeUInt32BE(v >>> 0, at);
    return this;
  }

  u64(v: bigint | number): this {
    const at = this.room(8);
    this.buf.writeBigUInt64BE(BigInt(v), at);
    return this;
  }

  bytes(b: Uint8Array): this {
    const at = this.room(b.length);
    this.buf.set(b, at);
    return this;
  }

  zeroes(n: number): this {
    const at = this.room(n);
    this.buf.fill(0, at, this.len);
    return this;
  }

  done(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/** Reads big-endian fields from a buffer; running past its end is a ProtocolError naming what was cut short. */
class ByteReader {
  private at = 0;

  constructor(
    private readonly buf: Buffer,
    private readonly what: string,
  ) {}

  private take(n: number): number {
    if (this.at + n > this.buf.length) {
      throw new ProtocolError(`${this.what}: needs ${this.at + n} bytes, got ${this.buf.length}`);
    }
    const at = this.at;
    this.at += n;
    return at;
  }

  u16(): number {
    return this.buf.readUInt16BE(this.take(2));
  }

  u32(): number {
    return this.buf.readUInt32BE(this.take(4));
  }

  u64(): bigint {
    return this.buf.readBigUInt64BE(this.take(8));
  }

  bytes(n: number): Buffer {
    const at = this.take(n);
    return this.buf.subarray(at, at + n);
  }

  get remaining(): number {
    return this.buf.length - this.at;
  }
}

// ---- handshake ----

export function encodeGreeting(flags: number): Buffer {
  return new ByteWriter(GREETING_BYTES).u64(NBDMAGIC).u64(IHAVEOPT).u16(flags).done();
}

export interface OptionHeader {
  option: number;
  length: number;
}

export function decodeOptionHeader(buf: Buffer): OptionHeader {
  const r = new ByteReader(buf, 'option header');
  const magic = r.u64();
  if (magic !== IHAVEOPT) throw new ProtocolError(`option header: magic 0x${magic.toString(16)} is not IHAVEOPT`);
  return { option: r.u32(), length: r.u32() };
}

export function encodeOption(option: number, data: Buffer = Buffer.alloc(0)): Buffer {
  return new ByteWriter(OPTION_HEADER_BYTES + data.length)
    .u64(IHAVEOPT)
    .u32(option)
    .u32(data.length)
    .bytes(data)
    .done();
}

export interface OptionReply {
  option: number;
  type: number;
  data: Buffer;
}

export function encodeOptionReply(option: number, type: number, data: Buffer = Buffer.alloc(0)): Buffer {
  return new ByteWriter(20 + data.length)
    .u64(OPTION_REPLY_MAGIC)
    .u32(option)
    .u32(type)
    .u32(data.length)
    .bytes(data)
    .done();
}

export function decodeOptionReply(buf: Buffer): OptionReply {
  const r = new ByteReader(buf, 'option reply');
  const magic = r.u64();
  if (magic !== OPTION_REPLY_MAGIC)
    throw new ProtocolError(`option reply: magic 0x${magic.toString(16)} is not the reply magic`);
  const option = r.u32();
  const type = r.u32();
  const length = r.u32();
  return { option, type, data: Buffer.from(r.bytes(length)) };
}

/** The data of OPT_INFO and OPT_GO: which export, and which NBD_INFO items the client asks for. */
export interface InfoRequest {
  name: string;
  infos: number[];
}

export function encodeInfoRequest(req: InfoRequest): Buffer {
  const name = Buffer.from(req.name, 'utf8');
  const w = new ByteWriter().u32(name.length).bytes(name).u16(req.infos.length);
  for (const i of req.infos) w.u16(i);
  return w.done();
}

/** Decodes OPT_INFO/OPT_GO data; the lengths inside must add up to exactly the option's length. */
export function decodeInfoRequest(data: Buffer): InfoRequest {
  const r = new ByteReader(data, 'OPT_INFO/OPT_GO data');
  const nameLength = r.u32();
  if (nameLength > MAX_STRING_BYTES)
    throw new ProtocolError(`OPT_INFO/OPT_GO: export name of ${nameLength} bytes is longer than ${MAX_STRING_BYTES}`);
  const name = decodeString(r.bytes(nameLength), 'export name');
  const count = r.u16();
  const infos: number[] = [];
  for (let i = 0; i < count; i++) infos.push(r.u16());
  if (r.remaining !== 0) throw new ProtocolError(`OPT_INFO/OPT_GO: ${r.remaining} bytes left over after the info list`);
  return { name, infos };
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** A string as the protocol defines one: UTF-8, no NUL. */
export function decodeString(bytes: Buffer, what: string): string {
  let s: string;
  try {
    s = UTF8.decode(bytes);
  } catch {
    throw new ProtocolError(`${what} is not valid UTF-8`);
  }
  if (s.includes('\u0000')) throw new ProtocolError(`${what} contains a NUL byte`);
  return s;
}

export function encodeServerReplyData(name: string): Buffer {
  const b = Buffer.from(name, 'utf8');
  return new ByteWriter(4 + b.length).u32(b.length).bytes(b).done();
}

export function encodeInfoExport(sizeBytes: number, transmissionFlags: number): Buffer {
  return new ByteWriter(12).u16(INFO_EXPORT).u64(sizeBytes).u16(transmissionFlags).done();
}

export function encodeInfoName(name: string): Buffer {
  return new ByteWriter().u16(INFO_NAME).bytes(Buffer.from(name, 'utf8')).done();
}

export interface BlockSizes {
  minimum: number;
  preferred: number;
  maximum: number;
}

export function encodeInfoBlockSize(s: BlockSizes): Buffer {
  return new ByteWriter(14).u16(INFO_BLOCK_SIZE).u32(s.minimum).u32(s.preferred).u32(s.maximum).done();
}

/** The answer to OPT_EXPORT_NAME: size, transmission flags and (unless NO_ZEROES) 124 zeroes. */
export function encodeExportNameReply(sizeBytes: number, transmissionFlags: number, noZeroes: boolean): Buffer {
  const w = new ByteWriter(10 + EXPORT_NAME_PADDING).u64(sizeBytes).u16(transmissionFlags);
  if (!noZeroes) w.zeroes(EXPORT_NAME_PADDING);
  return w.done();
}

// ---- transmission ----

export interface RequestHeader {
  flags: number;
  type: number;
  /** The client's opaque handle, echoed in the reply (kept as 8 raw bytes: clients use all 64 bits). */
  handle: Buffer;
  offset: bigint;
  length: number;
}

export function decodeRequestHeader(buf: Buffer): RequestHeader {
  const r = new ByteReader(buf, 'request header');
  const magic = r.u32();
  if (magic !== REQUEST_MAGIC)
    throw new ProtocolError(`request header: magic 0x${magic.toString(16)} is not 0x${REQUEST_MAGIC.toString(16)}`);
  const flags = r.u16();
  const type = r.u16();
  const handle = Buffer.from(r.bytes(8));
  const offset = r.u64();
  const length = r.u32();
  return { flags, type, handle, offset, length };
}

export function encodeRequestHeader(h: RequestHeader): Buffer {
  return new ByteWriter(REQUEST_HEADER_BYTES)
    .u32(REQUEST_MAGIC)
    .u16(h.flags)
    .u16(h.type)
    .bytes(h.handle)
    .u64(h.offset)
    .u32(h.length)
    .done();
}

export interface SimpleReply {
  error: number;
  handle: Buffer;
}

export function encodeSimpleReply(error: number, handle: Buffer): Buffer {
  return new ByteWriter(SIMPLE_REPLY_BYTES).u32(SIMPLE_REPLY_MAGIC).u32(error).bytes(handle).done();
}

export function decodeSimpleReply(buf: Buffer): SimpleReply {
  const r = new ByteReader(buf, 'simple reply');
  const magic = r.u32();
  if (magic !== SIMPLE_REPLY_MAGIC)
    throw new ProtocolError(`simple reply: magic 0x${magic.toString(16)} is not 0x${SIMPLE_REPLY_MAGIC.toString(16)}`);
  return { error: r.u32(), handle: Buffer.from(r.bytes(8)) };
}
