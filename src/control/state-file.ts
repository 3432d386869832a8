// The daemon's state file (`dmsim daemon --state FILE`): the live tables of the mapped devices, as LVM's
// metadata records what to activate at boot. The kernel keeps no such file (a reboot forgets every table);
// dmsim keeps one so that a restarted daemon is a rebooted machine whose volumes were activated again.
// Written atomically: a temporary file beside it, fsync, rename over it, fsync of the directory, so a crash at
// any point leaves either the old state or the new one, never a torn file.

import { constants, promises as fsp } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DmError, InvalidArgumentError, IoError } from '../base/errors.js';

/** One device to activate: what `dmsetup create` needs to bring it back. */
export interface RecordedDevice {
  name: string;
  uuid?: string;
  readOnly: boolean;
  /** The minor it had when recorded: tables may name it `253:MINOR`. */
  minor: number;
  /** The live table, one `START LENGTH TYPE PARAMS` line each (empty: created without a table). */
  table: string[];
}

export interface DaemonState {
  /** Devices in creation order; activation reorders only as stacking needs. */
  devices: RecordedDevice[];
}

const STATE_FORMAT = 'dmsim-state';
const STATE_VERSION = 1;

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
  if (raw.version !== STATE_VERSION)
    throw new StateFileError(
      path,
      `version ${JSON.stringify(raw.version)} is not supported (this dmsim reads version ${STATE_VERSION})`,
    );
  if (!Array.isArray(raw.devices)) throw new StateFileError(path, '"devices" must be an array');
  const seen = new Set<string>();
  const devices = raw.devices.map((d: unknown, i: number): RecordedDevice => {
    const where = `devices[${i}]`;
    if (!isObject(d)) throw new StateFileError(path, `${where} must be an object`);
    const { name, uuid, readOnly, minor, table } = d;
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
    const extra = Object.keys(d).filter((k) => !['name', 'uuid', 'readOnly', 'minor', 'table'].includes(k));
    if (extra.length > 0) throw new StateFileError(path, `${where} has unknown field(s) ${extra.join(', ')}`);
    return { name, ...(uuid !== undefined ? { uuid } : {}), readOnly, minor, table: table as string[] };
  });
  return { devices };
}

/** The recorded state, or null when the file does not exist yet (a first start). */
export async function readStateFile(path: string): Promise<DaemonState | null> {
  let text: string;
  try {
    text = await fsp.readFile(path, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    throw new StateFileError(path, `cannot read it: ${(e as Error).message}`);
  }
  return parseState(path, text);
}

/** Replaces the file with `state` atomically and durably (temp file + fsync + rename + fsync of the directory). */
export async function writeStateFile(path: string, state: DaemonState): Promise<void> {
  const dir = dirname(path);
  const temp = join(dir, `.${basename(path)}.${process.pid}.tmp`);
  try {
    const fh = await fsp.open(temp, 'w', 0o600);
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
