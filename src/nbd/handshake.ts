// The fixed-newstyle handshake: greeting, client flags, then option haggling until the client picks an
// export (OPT_GO or OPT_EXPORT_NAME) or leaves (OPT_ABORT, a closed connection). proto.md "Handshake";
// nbd-server.c negotiate() plays the same role in the reference server.
// Options dmsim does not implement (STARTTLS, STRUCTURED_REPLY, META_CONTEXT, ...) are answered
// REP_ERR_UNSUP, so clients probe and fall back to what is here.

import type { Socket } from 'node:net';
import {
  CLIENT_FLAG_NO_ZEROES,
  decodeInfoRequest,
  decodeOptionHeader,
  decodeString,
  encodeExportNameReply,
  encodeGreeting,
  encodeInfoBlockSize,
  encodeInfoExport,
  encodeInfoName,
  encodeOptionReply,
  encodeServerReplyData,
  FLAG_FIXED_NEWSTYLE,
  FLAG_NO_ZEROES,
  INFO_NAME,
  KNOWN_CLIENT_FLAGS,
  MAX_STRING_BYTES,
  OPT_ABORT,
  OPT_EXPORT_NAME,
  OPT_GO,
  OPT_INFO,
  OPT_LIST,
  OPTION_HEADER_BYTES,
  ProtocolError,
  REP_ACK,
  REP_ERR_INVALID,
  REP_ERR_UNKNOWN,
  REP_ERR_UNSUP,
  REP_INFO,
  REP_SERVER,
} from './codec.js';
import { BLOCK_SIZES, type NbdExport, sizeBytes, transmissionFlags } from './export.js';
import type { SocketReader } from './socket-reader.js';

/** The exports a connection may choose from, as they are at the moment it asks. */
export interface ExportLookup {
  find(name: string): NbdExport | undefined;
  names(): string[];
}

/** Option data longer than this is read past and refused: no option dmsim knows needs more. */
const MAX_OPTION_DATA_BYTES = 4 + MAX_STRING_BYTES + 2 + 2 * 64;
/** A client that haggles this long without choosing an export is not going to; it is disconnected. */
const MAX_OPTIONS = 1024;

/**
 * Runs the handshake. Resolves with the export the client chose, or null when it aborted. Throws
 * ProtocolError (or the reader's ConnectionClosedError) when the connection must simply be closed.
 */
export async function negotiate(
  socket: Socket,
  reader: SocketReader,
  exports: ExportLookup,
): Promise<NbdExport | null> {
  socket.write(encodeGreeting(FLAG_FIXED_NEWSTYLE | FLAG_NO_ZEROES));
  const clientFlags = (await reader.read(4)).readUInt32BE(0);
  if ((clientFlags & ~KNOWN_CLIENT_FLAGS) !== 0) {
    throw new ProtocolError(`client flags 0x${clientFlags.toString(16)} include bits this server does not know`);
  }
  const noZeroes = (clientFlags & CLIENT_FLAG_NO_ZEROES) !== 0;
  const reply = (option: number, type: number, data?: Buffer): void =>
    void socket.write(encodeOptionReply(option, type, data));
  const refuse = (option: number, type: number, message: string): void =>
    reply(option, type, Buffer.from(message, 'utf8'));

  for (let n = 0; n < MAX_OPTIONS; n++) {
    const { option, length } = decodeOptionHeader(await reader.read(OPTION_HEADER_BYTES));
    if (length > MAX_OPTION_DATA_BYTES) {
      await reader.skip(length);
      if (option === OPT_EXPORT_NAME) throw new ProtocolError(`OPT_EXPORT_NAME with ${length} bytes of name`);
      refuse(
        option,
        REP_ERR_INVALID,
        `option ${option}: ${length} bytes of data is more than this server accepts (${MAX_OPTION_DATA_BYTES})`,
      );
      continue;
    }
    const data = await reader.read(length);
    switch (option) {
      case OPT_EXPORT_NAME: {
        // No way to answer an error here: an unknown name ends the session (proto.md).
        const name = decodeString(data, 'export name');
        const exp = exports.find(name);
        if (!exp) throw new ProtocolError(`OPT_EXPORT_NAME: no export named '${name}'`);
        socket.write(encodeExportNameReply(sizeBytes(exp), transmissionFlags(exp), noZeroes));
        return exp;
      }
      case OPT_ABORT:
        reply(option, REP_ACK);
        return null;
      case OPT_LIST:
        if (length !== 0) {
          refuse(option, REP_ERR_INVALID, 'OPT_LIST carries no data');
          break;
        }
        for (const name of exports.names()) reply(option, REP_SERVER, encodeServerReplyData(name));
        reply(option, REP_ACK);
        break;
      case OPT_INFO:
      case OPT_GO: {
        let request: ReturnType<typeof decodeInfoRequest>;
        try {
          request = decodeInfoRequest(data);
        } catch (e) {
          refuse(option, REP_ERR_INVALID, (e as Error).message);
          break;
        }
        const exp = exports.find(request.name);
        if (!exp) {
          refuse(
            option,
            REP_ERR_UNKNOWN,
            `no export named '${request.name}' (exports: ${exports.names().join(', ') || 'none'})`,
          );
          break;
        }
        reply(option, REP_INFO, encodeInfoExport(sizeBytes(exp), transmissionFlags(exp)));
        if (request.infos.includes(INFO_NAME)) reply(option, REP_INFO, encodeInfoName(exp.name));
        // Sent whether asked for or not: the sector alignment is a real constraint of a mapped device.
        reply(option, REP_INFO, encodeInfoBlockSize(BLOCK_SIZES));
        reply(option, REP_ACK);
        if (option === OPT_GO) return exp;
        break;
      }
      default:
        refuse(option, REP_ERR_UNSUP, `option ${option} is not supported by dmsim`);
    }
  }
  throw new ProtocolError(`${MAX_OPTIONS} options without choosing an export`);
}
