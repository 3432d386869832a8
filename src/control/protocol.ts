// The control protocol between `dmsim daemon` and its clients: the user-space stand-in for the kernel's
// DM ioctl interface (drivers/md/dm-ioctl.c, include/uapi/linux/dm-ioctl.h).
//
// Framing: newline-delimited JSON over a Unix stream socket, one object per line, UTF-8.
//   request  {"id": 7, "verb": "status", "args": {"name": "lin"}}
//   reply    {"id": 7, "ok": true, "result": [...]}
//            {"id": 7, "ok": false, "error": {"code": "ENXIO", "message": "..."}}
// Replies carry the request's id and may come out of order (a `wait` does not hold up a `status`).
// A list result longer than about 1 MiB comes as parts before the reply, each on its own line,
//            {"id": 7, "part": [...items...]}  ...  {"id": 7, "ok": true, "result": [...the last items...]}
// and the result is the parts' items followed by the reply's, so no line is longer than MAX_LINE_BYTES
// however many devices or targets there are (connection.ts has the per-connection limits).
// A line that is not a request gets a reply with id null; the connection stays usable. A line longer
// than MAX_LINE_BYTES gets an error reply and the connection is closed (the stream cannot be resynced
// cheaply and a client that sends such a line is broken).
//
// Binary payloads (read/write) travel base64-encoded in the `data` field; one request moves at most
// MAX_IO_SECTORS sectors, and the client splits bigger transfers.
//
// A create or load whose table dmsim thinks is a mistake the kernel accepts (a dmsim extension, `dm.warning`
// on the bus) still succeeds; each warning comes ahead of the reply as {"id": 7, "warning": "..."}.
//
// `events` turns the connection into a stream: after the ok reply every bus event arrives as
//   {"id": <the events request id>, "event": {...}}
// until the client closes the connection. With `device` only the events whose `device` field names it come
// (and the daemon's kcopyd does not build its per-job events for such a stream).

import { DmError, type DmErrorCode, InvalidArgumentError, isDmErrorCode } from '../base/errors.js';
import type { DeviceInfo, DeviceSummary, InspectedTarget } from '../dm/device-mapper-core.js';
import type { TableLine } from '../dm/table-line.js';
import type { ExportSummary } from '../nbd/export-registry.js';
import type { StatusExplanation } from './status-history.js';

/** Longest request or reply line, in bytes (a 4 MiB write is ~5.6 MiB of base64). */
export const MAX_LINE_BYTES = 8 * 1024 * 1024;
/** Most sectors one read or write request moves (4 MiB). */
export const MAX_IO_SECTORS = 8192;

export type { TableLine };

/** The `info` reply for one device: the dm core's DeviceInfo, with uuid always present ('' when none). */
export type WireDeviceInfo = Omit<DeviceInfo, 'uuid'> & { uuid: string };

/** The `ls` reply for one device: the dm core's DeviceSummary and, while it is exported, its NBD export. */
export interface WireDeviceSummary extends DeviceSummary {
  /** Present while the device is exported over NBD (`dmsim export`). */
  export?: ExportSummary;
}

/** One line of `dmsetup targets`. */
export interface TargetVersion {
  name: string;
  /** "major.minor.patch" */
  version: string;
}

/** One device of `dmsetup deps`: the devices its live table uses, as the table named them. */
export interface DeviceDeps {
  name: string;
  devices: string[];
  /** What each of `devices` is bound to: /dev/mapper/NAME for a mapped device, a path, or '' (none). */
  boundTo?: string[];
}

export interface VersionInfo {
  /** dmsim's own version. */
  dmsim: string;
  /** The dm ioctl interface version dmsim's behaviour follows (the oracle's driver version). */
  driver: string;
}

/** Every verb: its arguments and its result. */
interface VerbMap {
  /** cwd: the client's working directory, against which relative paths in the table are resolved. */
  create: {
    args: { name: string; table: string; readOnly?: boolean; uuid?: string; notable?: boolean; cwd?: string };
    result: null;
  };
  load: { args: { name: string; table: string; cwd?: string }; result: null };
  suspend: { args: { name: string; noflush?: boolean }; result: null };
  resume: { args: { name: string }; result: null };
  remove: { args: { name: string; force?: boolean; deferred?: boolean }; result: null };
  removeAll: { args: { force?: boolean }; result: null };
  status: { args: { name?: string; target?: string; inactive?: boolean }; result: TableLine[] };
  /** `status --explain NAME`: the status lines with their named fields and the last change with its causes. */
  explain: { args: { name: string }; result: StatusExplanation };
  table: { args: { name?: string; target?: string; inactive?: boolean }; result: TableLine[] };
  clear: { args: { name: string }; result: null };
  info: { args: { name?: string }; result: WireDeviceInfo[] };
  deps: { args: { name?: string }; result: DeviceDeps[] };
  ls: { args: Record<string, never>; result: WireDeviceSummary[] };
  message: { args: { name: string; sector: number; message: string[] }; result: string };
  wait: { args: { name: string; eventNr?: number }; result: number };
  targets: { args: Record<string, never>; result: TargetVersion[] };
  version: { args: Record<string, never>; result: VersionInfo };
  read: { args: { name: string; sector: number; count: number }; result: { data: string } };
  write: { args: { name: string; sector: number; data: string }; result: null };
  flush: { args: { name: string }; result: null };
  events: { args: { device?: string }; result: { subscribed: true } };
  export: { args: { name: string; listen?: string; readOnly?: boolean }; result: ExportSummary };
  unexport: { args: { name: string }; result: null };
  /** dmsim's: each live target's structures (snapshot store, mirror log, kcopyd lists). */
  inspect: { args: { name: string }; result: InspectedTarget[] };
  /** dmsetup rename NAME NEW_NAME, or rename NAME --setuuid UUID (exactly one of newName and uuid). */
  rename: { args: { name: string; newName?: string; uuid?: string }; result: null };
}

export type Verb = keyof VerbMap;
export type VerbArgs<V extends Verb> = VerbMap[V]['args'];
export type VerbResult<V extends Verb> = VerbMap[V]['result'];

/** A checked request; switching on `verb` narrows `args`. */
export type Request = { [V in Verb]: { id: number; verb: V; args: VerbArgs<V> } }[Verb];

export interface WireError {
  code: DmErrorCode;
  message: string;
}

export type Reply =
  | { id: number | null; ok: true; result: unknown }
  | { id: number | null; ok: false; error: WireError };

/** A warning about a request, sent before its reply (a dmsim extension; see `dm.warning`). */
export interface WarningMessage {
  id: number;
  warning: string;
}

export interface EventMessage {
  id: number;
  event: Record<string, unknown>;
}

// ---- argument checking: what a request may carry, per verb ----

type FieldKind = 'string' | 'name' | 'boolean' | 'sector' | 'count' | 'words' | 'base64' | 'directory';
type ArgSpec = Record<string, { kind: FieldKind; required: boolean }>;

const req = (kind: FieldKind) => ({ kind, required: true });
const opt = (kind: FieldKind) => ({ kind, required: false });

const ARG_SPECS: { [V in Verb]: ArgSpec } = {
  create: {
    name: req('name'),
    table: req('string'),
    readOnly: opt('boolean'),
    uuid: opt('string'),
    notable: opt('boolean'),
    cwd: opt('directory'),
  },
  load: { name: req('name'), table: req('string'), cwd: opt('directory') },
  suspend: { name: req('name'), noflush: opt('boolean') },
  resume: { name: req('name') },
  remove: { name: req('name'), force: opt('boolean'), deferred: opt('boolean') },
  removeAll: { force: opt('boolean') },
  status: { name: opt('name'), target: opt('string'), inactive: opt('boolean') },
  explain: { name: req('name') },
  table: { name: opt('name'), target: opt('string'), inactive: opt('boolean') },
  clear: { name: req('name') },
  info: { name: opt('name') },
  deps: { name: opt('name') },
  ls: {},
  message: { name: req('name'), sector: req('sector'), message: req('words') },
  wait: { name: req('name'), eventNr: opt('count') },
  targets: {},
  version: {},
  read: { name: req('name'), sector: req('sector'), count: req('count') },
  write: { name: req('name'), sector: req('sector'), data: req('base64') },
  flush: { name: req('name') },
  events: { device: opt('name') },
  export: { name: req('name'), listen: opt('string'), readOnly: opt('boolean') },
  unexport: { name: req('name') },
  inspect: { name: req('name') },
  rename: { name: req('name'), newName: opt('name'), uuid: opt('string') },
};

const VERBS = Object.keys(ARG_SPECS) as Verb[];

function isVerb(v: unknown): v is Verb {
  return typeof v === 'string' && Object.hasOwn(ARG_SPECS, v);
}

/** The kernel's DM_NAME_LEN is 128 including the NUL. */
const MAX_NAME_LENGTH = 127;

function checkField(key: string, kind: FieldKind, value: unknown): void {
  const where = `argument '${key}'`;
  switch (kind) {
    case 'string':
    case 'base64':
      if (typeof value !== 'string') throw new InvalidArgumentError(`${where} must be a string`);
      if (kind === 'base64' && !/^[A-Za-z0-9+/]*={0,2}$/.test(value))
        throw new InvalidArgumentError(`${where} is not base64`);
      return;
    case 'name':
      if (typeof value !== 'string' || value === '') throw new InvalidArgumentError(`${where} must be a device name`);
      if (value.length > MAX_NAME_LENGTH || value.includes('/')) {
        throw new InvalidArgumentError(
          `${where}: '${value}' is not a valid device name (at most ${MAX_NAME_LENGTH} characters, no '/')`,
        );
      }
      return;
    case 'directory':
      if (typeof value !== 'string' || !value.startsWith('/'))
        throw new InvalidArgumentError(`${where} must be an absolute path`);
      return;
    case 'boolean':
      if (typeof value !== 'boolean') throw new InvalidArgumentError(`${where} must be true or false`);
      return;
    case 'sector':
    case 'count':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
        throw new InvalidArgumentError(`${where} must be a whole number >= 0`);
      }
      return;
    case 'words':
      if (!Array.isArray(value) || value.length === 0 || !value.every((w) => typeof w === 'string')) {
        throw new InvalidArgumentError(`${where} must be a non-empty list of words`);
      }
      return;
  }
}

/**
 * Parses one request line. Throws InvalidArgumentError naming what is wrong; `id` is recovered when the
 * line is a JSON object with a numeric id, so the error reply can still be matched by the client.
 */
export function parseRequest(line: string): Request {
  let raw: unknown;
  try {
    raw = JSON.parse(line);
  } catch {
    throw new RequestError(null, `malformed request: not JSON: ${preview(line)}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new RequestError(null, 'malformed request: expected a JSON object {id, verb, args}');
  }
  const obj = raw as Record<string, unknown>;
  const id = typeof obj.id === 'number' && Number.isSafeInteger(obj.id) ? obj.id : null;
  if (id === null) throw new RequestError(null, 'malformed request: "id" must be an integer');
  if (!isVerb(obj.verb)) {
    throw new RequestError(id, `unknown verb ${JSON.stringify(obj.verb)} (known: ${VERBS.join(', ')})`);
  }
  const verb = obj.verb;
  const args = obj.args === undefined ? {} : obj.args;
  if (typeof args !== 'object' || args === null || Array.isArray(args)) {
    throw new RequestError(id, `${verb}: "args" must be an object`);
  }
  const given = args as Record<string, unknown>;
  try {
    checkVerbArgs(verb, given);
  } catch (e) {
    throw new RequestError(id, `${verb}: ${(e as Error).message}`);
  }
  return { id, verb, args: given } as Request;
}

/** Checks a verb's args as the daemon does (the command grammar checks what it builds the same way). */
export function checkVerbArgs(verb: Verb, given: Record<string, unknown>): void {
  const spec = ARG_SPECS[verb];
  for (const key of Object.keys(given)) {
    if (!(key in spec)) throw new InvalidArgumentError(`unknown argument '${key}'`);
  }
  for (const [key, { kind, required }] of Object.entries(spec)) {
    if (given[key] === undefined) {
      if (required) throw new InvalidArgumentError(`missing argument '${key}'`);
      continue;
    }
    checkField(key, kind, given[key]);
  }
}

/** A request that cannot be served as sent; carries the id (if any) for the error reply. */
export class RequestError extends InvalidArgumentError {
  constructor(
    readonly requestId: number | null,
    message: string,
  ) {
    super(message);
  }
}

function preview(line: string): string {
  const s = line.length > 40 ? `${line.slice(0, 40)}...` : line;
  return JSON.stringify(s);
}

export function encodeLine(message: Reply | Request | EventMessage | WarningMessage): string {
  return `${JSON.stringify(message)}\n`;
}

/** The wire form of any thrown value: a DmError keeps its code; anything else is an EIO with its message. */
export function toWireError(e: unknown): WireError {
  if (e instanceof DmError) return { code: e.code, message: e.message };
  return { code: 'EIO', message: e instanceof Error ? e.message : String(e) };
}

/** Rebuilds a DmError on the client side from an error reply. */
export function fromWireError(err: unknown): DmError {
  const e = (typeof err === 'object' && err !== null ? err : {}) as Record<string, unknown>;
  const code = isDmErrorCode(e.code) ? e.code : 'EIO';
  const message = typeof e.message === 'string' ? e.message : 'the daemon sent an error without a message';
  return new DmError(code, message);
}
