// The daemon's state file (`dmsim daemon --state FILE`): the live tables of the mapped devices, as LVM's
// metadata records what to activate at boot. The kernel keeps no such file (a reboot forgets every table);
// dmsim keeps one so that a restarted daemon is a rebooted machine whose volumes were activated again.
// Written atomically: a temporary file beside it, fsync, rename over it, fsync of the directory, so a crash at
// any point leaves either the old state or the new one, never a torn file. Each table word that names a device
// other than by its own absolute path or /dev/mapper/NAME (a relative path, a `253:MINOR`) is recorded with
// what it was bound to, as LVM records volumes by UUID and not by minor: a restart binds it to the same thing.

import { constants, promises as fsp } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { DmError, InvalidArgumentError, IoError } from '../base/errors.js';
import { type BindOptions, DM_MAJOR, MAPPER_PREFIX } from '../dm/device-pool.js';
import { splitArgs } from '../dm/table-parser.js';

/** One device to activate: what `dmsetup create` needs to bring it back. */
export interface RecordedDevice {
  name: string;
  uuid?: string;
  readOnly: boolean;
  /** The minor it had when recorded (informational: a restart may hand out others). */
  minor: number;
  /** The live table, one `START LENGTH TYPE PARAMS` line each (empty: created without a table). */
  table: string[];
  /** Table words bound to something they do not say themselves: word -> absolute path or /dev/mapper/NAME. */
  bindings?: Record<string, string>;
}

export interface DaemonState {
  /** Devices in creation order; activation reorders only as stacking needs. */
  devices: RecordedDevice[];
}

const STATE_FORMAT = 'dmsim-state';
/** 2 added `bindings`; a version-1 file is still read (its `253:MINOR` words bound through the recorded minors). */
const STATE_VERSION = 2;

/** What a recorded device's table word was bound to (the word itself when the record says nothing). */
export function boundTo(d: RecordedDevice, word: string): string {
  return d.bindings && Object.hasOwn(d.bindings, word) ? d.bindings[word]! : word;
}

/** How a recorded device's table words are bound again: as recorded (a word without a record: as it reads). */
export function bindOf(d: RecordedDevice): BindOptions {
  return d.bindings !== undefined ? { bindings: d.bindings } : {};
}

/** The state file could not be read or parsed: the daemon refuses to start rather than drop devices. */
export class StateFileError extends DmError {
  constructor(path: string, reason: string) {
    super(
      'EINVAL',
      `state file ${path}: ${reason}; the daemon will not start without it (fix it, or move it away to start with no devices)`,
    );
    this.name = 'StateFileError';
  }
}

function serializeState(state: DaemonState): string {
  return `${JSON.stringify({ format: STATE_FORMAT, version: STATE_VERSION, devices: state.devices }, null, 2)}\n`;
}

/** Parses and checks every field; any doubt is an error naming the field, never a device quietly skipped. */
export function parseState(path: string, text: string): DaemonState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new StateFileError(path, `not valid JSON (${(e as Error).message})`);
  }
  if (!isObject(raw)) throw new StateFileError(path, 'expected a JSON object');
  if (raw.format !== STATE_FORMAT)
    throw new StateFileError(path, `"format" is ${JSON.stringify(raw.format)}, expected "${STATE_FORMAT}"`);
  if (raw.version !== STATE_VERSION && raw.version !== 1)
    throw new StateFileError(
      path,
      `version ${JSON.stringify(raw.version)} is not supported (this dmsim reads versions 1 to ${STATE_VERSION})`,
    );
  if (!Array.isArray(raw.devices)) throw new StateFileError(path, '"devices" must be an array');
  const seen = new Set<string>();
  const devices = raw.devices.map((d: unknown, i: number): RecordedDevice => {
    const where = `devices[${i}]`;
    if (!isObject(d)) throw new StateFileError(path, `${where} must be an object`);
    const { name, uuid, readOnly, minor, table, bindings } = d;
    if (typeof name !== 'string' || name === '')
      throw new StateFileError(path, `${where}.name must be a non-empty string`);
    if (seen.has(name)) throw new StateFileError(path, `${where}: device ${name} is listed twice`);
    seen.add(name);
    if (uuid !== undefined && typeof uuid !== 'string')
      throw new StateFileError(path, `${where}.uuid must be a string`);
    if (typeof readOnly !== 'boolean') throw new StateFileError(path, `${where}.readOnly must be true or false`);
    if (typeof minor !== 'number' || !Number.isSafeInteger(minor) || minor < 0)
      throw new StateFileError(path, `${where}.minor must be a non-negative integer`);
    if (!Array.isArray(table) || !table.every((l) => typeof l === 'string' && !l.includes('\n'))) {
      throw new StateFileError(path, `${where}.table must be an array of single-line strings`);
    }
    const fields = ['name', 'uuid', 'readOnly', 'minor', 'table', ...(raw.version === 1 ? [] : ['bindings'])];
    const extra = Object.keys(d).filter((k) => !fields.includes(k));
    if (extra.length > 0) throw new StateFileError(path, `${where} has unknown field(s) ${extra.join(', ')}`);
    if (
      bindings !== undefined &&
      !(isObject(bindings) && Object.values(bindings).every((b) => typeof b === 'string' && isAbsolute(b)))
    )
      throw new StateFileError(path, `${where}.bindings must map table words to absolute paths`);
    return {
      name,
      ...(uuid !== undefined ? { uuid } : {}),
      readOnly,
      minor,
      table: table as string[],
      ...(bindings !== undefined ? { bindings: bindings as Record<string, string> } : {}),
    };
  });
  return { devices: raw.version === 1 ? bindMinors(devices) : devices };
}

/** Version 1 recorded no bindings: a `253:MINOR` word meant the device recorded with that minor. */
function bindMinors(devices: RecordedDevice[]): RecordedDevice[] {
  return devices.map((d) => {
    const bindings: Record<string, string> = {};
    for (const word of d.table.flatMap(splitArgs)) {
      const [major, minor] = word.split(':').map(Number);
      const named = major === DM_MAJOR ? devices.find((o) => o.minor === minor) : undefined;
      if (named) bindings[word] = `${MAPPER_PREFIX}${named.name}`;
    }
    return Object.keys(bindings).length > 0 ? { ...d, bindings } : d;
  });
}

/** The recorded state, or null when the file does not exist yet (a first start). Only a regular file is read. */
export async function readStateFile(path: string): Promise<DaemonState | null> {
  let text: string;
  try {
    // O_NONBLOCK: opening a FIFO must not wait for a writer that never comes; it is refused just below.
    const fh = await fsp.open(path, constants.O_RDONLY | constants.O_NONBLOCK);
    try {
      if (!(await fh.stat()).isFile()) throw new StateFileError(path, 'it is not a regular file');
      text = await fh.readFile('utf8');
    } finally {
      await fh.close();
    }
  } catch (e) {
    if (e instanceof StateFileError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw new StateFileError(path, `cannot read it: ${(e as Error).message}`);
  }
  return parseState(path, text);
}

/** `.FILE.PID.tmp`: the temporary file a write by process PID makes beside the state file. */
function tempPath(path: string, pid: number): string {
  return join(dirname(path), `.${basename(path)}.${pid}.tmp`);
}

/**
 * Removes the temporary files that writers killed mid-write left beside the state file (a kill -9 between
 * creating and renaming one); a file whose process is still running is another daemon's write and is left alone.
 * Returns the paths removed.
 */
export async function removeStaleTempFiles(path: string): Promise<string[]> {
  const prefix = `.${basename(path)}.`;
  const removed: string[] = [];
  for (const entry of await fsp.readdir(dirname(path))) {
    const pid = entry.startsWith(prefix) && /^(\d+)\.tmp$/.exec(entry.slice(prefix.length))?.[1];
    if (!pid || (Number(pid) !== process.pid && processAlive(Number(pid)))) continue;
    const temp = tempPath(path, Number(pid));
    await fsp.rm(temp, { force: true });
    removed.push(temp);
  }
  return removed;
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // alive, someone else's
  }
}

/** Replaces the file with `state` atomically and durably (temp file + fsync + rename + fsync of the directory). */
export async function writeStateFile(path: string, state: DaemonState): Promise<void> {
  const dir = dirname(path);
  const temp = tempPath(path, process.pid);
  try {
    // A fresh file ('wx'): whatever was left at this name (a FIFO, a symlink) is removed, never opened.
    await fsp.rm(temp, { force: true });
    const fh = await fsp.open(temp, 'wx', 0o600);
    try {
      await fh.writeFile(serializeState(state));
      await fh.sync();
    } finally {
      await fh.close();
    }
    await fsp.rename(temp, path);
    const dh = await fsp.open(dir, 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  } catch (e) {
    await fsp.rm(temp, { force: true });
    throw new IoError(`state file ${path}: cannot record the devices: ${(e as Error).message}`);
  }
}

/** Fails early, before any device is touched, when the state file could never be written. */
export async function checkStateDirectory(path: string): Promise<void> {
  try {
    const st = await fsp.stat(dirname(path));
    if (!st.isDirectory()) throw new Error('not a directory');
    await fsp.access(dirname(path), constants.W_OK);
  } catch (e) {
    throw new InvalidArgumentError(
      `state file ${path}: its directory ${dirname(path)} is not a writable directory (${(e as Error).message})`,
    );
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
