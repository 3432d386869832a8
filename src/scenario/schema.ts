// The scenario format, version 1: a JSON file of steps that build images and devices, do I/O, inject faults,
// wait for conditions and assert results, each step with a sentence of narration. This file holds the
// types and the validator; fixtures/lessons/SCHEMA.md documents the format for people. dmsim's own
// invention (no kernel counterpart): it replays the choreography LVM and lvm2's test suite do with dmsetup.

import { DM_ERROR_CODES, type DmErrorCode, InvalidArgumentError, isDmErrorCode } from '../base/errors.js';
import { parseSizeBytes } from '../base/size.js';

export const SCENARIO_VERSION = 1;

/** What a step's I/O goes to: a mapped device (through the device-mapper) or a scenario image (the file itself). */
export type IoTarget = { device: string } | { image: string };

/** A data pattern: every byte the same, or a seeded pattern (each sector's bytes depend on seed and sector). */
export type Pattern = { byte: number } | { seed: string; seedOffset: number };

interface ExpectedError {
  code: DmErrorCode;
  /** The error message must match this. */
  match?: RegExp;
}

export interface CopyRegion {
  target: IoTarget;
  sector: number;
  count?: number;
}

/** One kcopyd job of a copy step: one source, 1 to 8 destinations, and the error bits it must end with. */
interface CopyJob {
  from: CopyRegion;
  to: CopyRegion[];
  ignoreError: boolean;
  readErr?: boolean;
  writeErr?: number;
}

type WaitCondition = 'sync' | 'merged' | 'invalid' | 'event' | 'status';

interface Common {
  /** 1-based, as reports and messages number them. */
  number: number;
  say?: string;
  /** The step must fail with this error (and then counts as ok). */
  fails?: ExpectedError;
}

export type Step = Common &
  (
    | { do: 'note' }
    | { do: 'image'; name: string; sizeSectors: number }
    | { do: 'create'; name: string; table: string; readOnly: boolean }
    | { do: 'load'; name: string; table: string }
    | { do: 'reload'; name: string; table: string }
    | { do: 'suspend'; name: string; noflush: boolean }
    | { do: 'resume'; name: string }
    | { do: 'remove'; name: string; force: boolean }
    | { do: 'message'; name: string; sector: number; args: string[]; reply?: RegExp }
    | { do: 'write'; to: IoTarget; sector: number; count: number; pattern: Pattern }
    | { do: 'read'; from: IoTarget; sector: number; count: number; expect: Pattern | { sha256: string } }
    | { do: 'flush'; name: string }
    | { do: 'fail'; name: string }
    | { do: 'heal'; name: string }
    | ({
        do: 'copy';
        /** The copying client's page reserve (default: one maximal sub-job's pages, as the kernel's). */
        reservePages?: number;
        /** Jobs the same client submits right after this one, before any has completed. */
        followedBy: CopyJob[];
      } & CopyJob)
    | { do: 'wait'; name: string; for: WaitCondition; event?: number; match?: RegExp; timeoutMs: number }
    | { do: 'expect-status'; name: string; match: RegExp }
    | { do: 'expect-table'; name: string; match: RegExp }
    | { do: 'restart' }
  );

export type StepKind = Step['do'];

export interface Scenario {
  version: typeof SCENARIO_VERSION;
  title: string;
  description?: string;
  steps: Step[];
  /**
   * The kcopyd engine the scenario's copies run in: sharedPages limits the pages all clients may take beyond
   * their reserves (the page allocator under memory pressure); default unlimited.
   */
  kcopyd?: { sharedPages: number };
  /** Where it came from (a file path or "<object>"), for messages. */
  source: string;
}

/** A scenario that cannot be played as written; the message names the file, the step and the field. */
export class ScenarioError extends InvalidArgumentError {}

const DEFAULT_WAIT_TIMEOUT_MS = 10_000;

const WAIT_CONDITIONS: readonly WaitCondition[] = ['sync', 'merged', 'invalid', 'event', 'status'];

/** The fields each kind of step takes besides do, say and fails: true = required. */
const FIELDS: Record<StepKind, Record<string, boolean>> = {
  note: {},
  image: { name: true, size: true },
  create: { name: true, table: true, readOnly: false },
  load: { name: true, table: true },
  reload: { name: true, table: true },
  suspend: { name: true, noflush: false },
  resume: { name: true },
  remove: { name: true, force: false },
  message: { name: true, sector: false, args: true, reply: false },
  write: { device: false, image: false, sector: true, count: true, byte: false, seed: false },
  read: {
    device: false,
    image: false,
    sector: true,
    count: true,
    byte: false,
    seed: false,
    seedOffset: false,
    sha256: false,
  },
  flush: { name: true },
  fail: { name: true },
  heal: { name: true },
  copy: {
    from: true,
    to: true,
    ignoreError: false,
    readErr: false,
    writeErr: false,
    reserve: false,
    followedBy: false,
  },
  wait: { name: true, for: true, event: false, match: false, timeout: false },
  'expect-status': { name: true, match: true },
  'expect-table': { name: true, match: true },
  restart: {},
};

const KINDS = Object.keys(FIELDS) as StepKind[];

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (JSON.stringify(v) ?? String(v)).slice(0, 60);

/** Reads one step's fields, throwing a ScenarioError that names the step and the field. */
class StepReader {
  constructor(
    readonly where: string,
    readonly raw: Obj,
  ) {}

  fail(message: string): never {
    throw new ScenarioError(`${this.where}: ${message}`);
  }

  has(key: string): boolean {
    return this.raw[key] !== undefined;
  }

  string(key: string): string {
    const v = this.raw[key];
    if (typeof v !== 'string' || v === '') this.fail(`field "${key}" must be a non-empty string, got ${show(v)}`);
    return v;
  }

  optString(key: string): string | undefined {
    return this.has(key) ? this.string(key) : undefined;
  }

  uint(key: string): number {
    const v = this.raw[key];
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0)
      this.fail(`field "${key}" must be a whole number >= 0, got ${show(v)}`);
    return v;
  }

  optUint(key: string): number | undefined {
    return this.has(key) ? this.uint(key) : undefined;
  }

  positive(key: string): number {
    const v = this.uint(key);
    if (v === 0) this.fail(`field "${key}" must be at least 1`);
    return v;
  }

  bool(key: string): boolean {
    const v = this.raw[key] ?? false;
    if (typeof v !== 'boolean') this.fail(`field "${key}" must be true or false, got ${show(v)}`);
    return v;
  }

  optBool(key: string): boolean | undefined {
    return this.has(key) ? this.bool(key) : undefined;
  }

  regex(key: string): RegExp {
    const text = this.string(key);
    try {
      return new RegExp(text);
    } catch (e) {
      return this.fail(`field "${key}" is not a valid regular expression: ${(e as Error).message}`);
    }
  }

  optRegex(key: string): RegExp | undefined {
    return this.has(key) ? this.regex(key) : undefined;
  }

  byte(key: string): number {
    const v = this.raw[key];
    const n = typeof v === 'number' ? v : typeof v === 'string' && /^0x[0-9a-f]{1,2}$/i.test(v) ? parseInt(v, 16) : NaN;
    if (!(Number.isInteger(n) && n >= 0 && n <= 255))
      this.fail(`field "${key}" must be a byte: 0..255 or "0x00".."0xff", got ${show(v)}`);
    return n;
  }

  /** A table: one string, or a list of lines. */
  table(key: string): string {
    const v = this.raw[key];
    if (Array.isArray(v) && v.length > 0 && v.every((l) => typeof l === 'string')) return v.join('\n');
    if (typeof v === 'string' && v.trim() !== '') return v;
    return this.fail(`field "${key}" must be a table: a string or a list of lines, got ${show(v)}`);
  }

  words(key: string): string[] {
    const v = this.raw[key];
    if (typeof v === 'string' && v.trim() !== '') return v.trim().split(/\s+/);
    if (Array.isArray(v) && v.length > 0 && v.every((w) => typeof w === 'string' && w !== '')) return v as string[];
    return this.fail(`field "${key}" must be a message: a string or a list of words, got ${show(v)}`);
  }

  /** {device} or {image}, exactly one. */
  target(raw: Obj = this.raw, field = ''): IoTarget {
    const inside = field ? ` in "${field}"` : '';
    const hasDevice = raw.device !== undefined;
    if (hasDevice === (raw.image !== undefined)) this.fail(`give exactly one of "device" or "image"${inside}`);
    const key = hasDevice ? 'device' : 'image';
    const v = raw[key];
    if (typeof v !== 'string' || v === '')
      this.fail(`field "${key}"${inside} must be a non-empty string, got ${show(v)}`);
    return hasDevice ? { device: v } : { image: v };
  }

  /** A pattern: byte, or seed (+ seedOffset when reading). */
  pattern(what: string): Pattern {
    if (this.has('byte') === this.has('seed'))
      this.fail(`give exactly one of "byte" or "seed" for the data to ${what}`);
    if (this.has('byte')) return { byte: this.byte('byte') };
    return { seed: this.string('seed'), seedOffset: this.optUint('seedOffset') ?? 0 };
  }

  region(value: unknown, field: string, needCount: boolean): CopyRegion {
    if (!isObj(value))
      this.fail(`field "${field}" must be an object {device|image, sector, count}, got ${show(value)}`);
    for (const k of Object.keys(value)) {
      if (!['device', 'image', 'sector', 'count'].includes(k))
        this.fail(`unknown field "${k}" in "${field}" (known: device, image, sector, count)`);
    }
    const sub = new StepReader(`${this.where}: in "${field}"`, value);
    const region: CopyRegion = { target: this.target(value, field), sector: sub.uint('sector') };
    if (needCount || sub.has('count')) region.count = sub.positive('count');
    return region;
  }
}

function expectedError(r: StepReader, raw: unknown): ExpectedError {
  const obj = typeof raw === 'string' ? { code: raw } : raw;
  if (!isObj(obj))
    return r.fail(
      `field "fails" must be an error code like "EIO" or {"code": "EIO", "match": "regex"}, got ${show(raw)}`,
    );
  const code = obj.code;
  if (!isDmErrorCode(code)) r.fail(`field "fails" has code ${show(code)}; known codes: ${DM_ERROR_CODES.join(', ')}`);
  for (const k of Object.keys(obj))
    if (k !== 'code' && k !== 'match') r.fail(`unknown field "${k}" in "fails" (known: code, match)`);
  const expected: ExpectedError = { code: code as DmErrorCode };
  const match = new StepReader(`${r.where}: in "fails"`, obj).optRegex('match');
  if (match) expected.match = match;
  return expected;
}

/** Names introduced by earlier steps, to catch a typo before anything runs. */
interface Known {
  images: Set<string>;
  devices: Set<string>;
}

function checkTarget(r: StepReader, t: IoTarget, known: Known): void {
  if ('image' in t && !known.images.has(t.image)) r.fail(`image "${t.image}" is not made by an earlier "image" step`);
  if ('device' in t && !known.devices.has(t.device))
    r.fail(`device "${t.device}" is not created by an earlier "create" step`);
}

function checkDevice(r: StepReader, name: string, known: Known): string {
  if (!known.devices.has(name)) r.fail(`device "${name}" is not created by an earlier "create" step`);
  return name;
}

/** Table text may name scenario images as ${NAME}; each must exist by then. */
function checkTable(r: StepReader, table: string, known: Known): string {
  for (const m of table.matchAll(/\$\{([^}]*)\}/g)) {
    if (!known.images.has(m[1]!))
      r.fail(`the table names \${${m[1]}} but no earlier "image" step makes an image "${m[1]}"`);
  }
  return table;
}

const COPY_JOB_FIELDS = { from: true, to: true, ignoreError: false, readErr: false, writeErr: false };

/** The fields of one kcopyd job (a copy step's own, or one of its followedBy). */
function copyJob(r: StepReader, known: Known): CopyJob {
  for (const [key, required] of Object.entries(COPY_JOB_FIELDS))
    if (required && !r.has(key)) r.fail(`missing field "${key}"`);
  const from = r.region(r.raw.from, 'from', true);
  checkTarget(r, from.target, known);
  const list: unknown = r.raw.to;
  if (!Array.isArray(list) || list.length === 0)
    return r.fail(`field "to" must be a list of 1 to 8 regions, got ${show(list)}`);
  if (list.length > 8) r.fail(`field "to" has ${list.length} regions; kcopyd takes at most 8 destinations`);
  const to = list.map((t: unknown, i: number) => r.region(t, `to[${i}]`, false));
  for (const t of to) {
    checkTarget(r, t.target, known);
    if (t.count !== undefined && t.count !== from.count)
      r.fail(`a destination has count ${t.count} but the source has ${from.count}`);
  }
  const job: CopyJob = { from, to, ignoreError: r.bool('ignoreError') };
  const readErr = r.optBool('readErr');
  if (readErr !== undefined) job.readErr = readErr;
  if (r.has('writeErr')) job.writeErr = r.uint('writeErr');
  return job;
}

function readStep(raw: unknown, number: number, source: string, known: Known): Step {
  if (!isObj(raw))
    throw new ScenarioError(`${source}: step ${number}: must be an object with a "do" field, got ${show(raw)}`);
  const kind = raw.do;
  if (typeof kind !== 'string' || !KINDS.includes(kind as StepKind)) {
    throw new ScenarioError(`${source}: step ${number}: unknown "do": ${show(kind)} (known: ${KINDS.join(', ')})`);
  }
  const k = kind as StepKind;
  const r = new StepReader(`${source}: step ${number} (${k})`, raw);
  const fields = FIELDS[k];
  for (const key of Object.keys(raw)) {
    if (key !== 'do' && key !== 'say' && key !== 'fails' && !(key in fields)) {
      r.fail(`unknown field "${key}" (a ${k} step takes: ${[...Object.keys(fields), 'say', 'fails'].join(', ')})`);
    }
  }
  for (const [key, required] of Object.entries(fields))
    if (required && raw[key] === undefined) r.fail(`missing field "${key}"`);
  const common: Common = { number };
  const say = r.optString('say');
  if (say !== undefined) common.say = say;
  if (raw.fails !== undefined) common.fails = expectedError(r, raw.fails);

  switch (k) {
    case 'note':
    case 'restart':
      return { ...common, do: k };
    case 'image': {
      const name = r.string('name');
      if (!/^[\w.-]+$/.test(name))
        r.fail(`field "name" must be letters, digits, '.', '_' or '-' (it becomes a file name), got ${show(name)}`);
      const size = raw.size;
      let bytes: number;
      try {
        bytes = typeof size === 'number' ? parseSizeBytes(`${size}s`) : parseSizeBytes(String(size));
      } catch (e) {
        return r.fail(`field "size": ${(e as Error).message}`);
      }
      if (bytes === 0) r.fail('field "size" must be at least one sector');
      known.images.add(name);
      return { ...common, do: k, name, sizeSectors: bytes / 512 };
    }
    case 'create': {
      const name = r.string('name');
      const step: Step = {
        ...common,
        do: k,
        name,
        table: checkTable(r, r.table('table'), known),
        readOnly: r.bool('readOnly'),
      };
      known.devices.add(name);
      return step;
    }
    case 'load':
    case 'reload':
      return {
        ...common,
        do: k,
        name: checkDevice(r, r.string('name'), known),
        table: checkTable(r, r.table('table'), known),
      };
    case 'suspend':
      return { ...common, do: k, name: checkDevice(r, r.string('name'), known), noflush: r.bool('noflush') };
    case 'remove':
      return { ...common, do: k, name: checkDevice(r, r.string('name'), known), force: r.bool('force') };
    case 'resume':
    case 'flush':
    case 'fail':
    case 'heal':
      return { ...common, do: k, name: checkDevice(r, r.string('name'), known) };
    case 'message': {
      const step: Step = {
        ...common,
        do: k,
        name: checkDevice(r, r.string('name'), known),
        sector: r.optUint('sector') ?? 0,
        args: r.words('args'),
      };
      const reply = r.optRegex('reply');
      if (reply) step.reply = reply;
      return step;
    }
    case 'write': {
      const to = r.target();
      checkTarget(r, to, known);
      if (r.has('seedOffset'))
        r.fail('field "seedOffset" is for read steps; a write puts pattern sector 0 at "sector"');
      return {
        ...common,
        do: k,
        to,
        sector: r.uint('sector'),
        count: r.positive('count'),
        pattern: r.pattern('write'),
      };
    }
    case 'read': {
      const from = r.target();
      checkTarget(r, from, known);
      const sector = r.uint('sector');
      const count = r.positive('count');
      if (r.has('sha256')) {
        if (r.has('byte') || r.has('seed')) r.fail('give one expectation: "byte", "seed" or "sha256"');
        const sha = r.string('sha256');
        if (!/^[0-9a-f]{64}$/.test(sha)) r.fail(`field "sha256" must be 64 lowercase hex digits, got ${show(sha)}`);
        return { ...common, do: k, from, sector, count, expect: { sha256: sha } };
      }
      if (!r.has('byte') && !r.has('seed')) r.fail('a read step checks the data: give "byte", "seed" or "sha256"');
      return { ...common, do: k, from, sector, count, expect: r.pattern('expect') };
    }
    case 'copy': {
      const more: unknown = raw.followedBy ?? [];
      if (!Array.isArray(more)) return r.fail(`field "followedBy" must be a list of copy jobs, got ${show(more)}`);
      const followedBy = more.map((j: unknown, i: number) => {
        const field = `followedBy[${i}]`;
        if (!isObj(j)) return r.fail(`field "${field}" must be an object {from, to, ...}, got ${show(j)}`);
        for (const key of Object.keys(j))
          if (!(key in COPY_JOB_FIELDS))
            r.fail(`unknown field "${key}" in "${field}" (known: ${Object.keys(COPY_JOB_FIELDS).join(', ')})`);
        return copyJob(new StepReader(`${r.where}: in "${field}"`, j), known);
      });
      const step: Step = { ...common, do: k, ...copyJob(r, known), followedBy };
      if (r.has('reserve')) step.reservePages = r.uint('reserve');
      return step;
    }
    case 'wait': {
      const name = checkDevice(r, r.string('name'), known);
      const cond = raw.for;
      if (!WAIT_CONDITIONS.includes(cond as WaitCondition))
        r.fail(`field "for" must be one of ${WAIT_CONDITIONS.join(', ')}, got ${show(cond)}`);
      const step: Step = {
        ...common,
        do: k,
        name,
        for: cond as WaitCondition,
        timeoutMs: r.optUint('timeout') ?? DEFAULT_WAIT_TIMEOUT_MS,
      };
      if (cond === 'event') step.event = r.positive('event');
      else if (r.has('event')) r.fail('field "event" goes with "for": "event"');
      if (cond === 'status') step.match = r.regex('match');
      else if (r.has('match')) r.fail('field "match" goes with "for": "status"');
      return step;
    }
    case 'expect-status':
    case 'expect-table':
      return { ...common, do: k, name: checkDevice(r, r.string('name'), known), match: r.regex('match') };
  }
}

/** Checks a parsed JSON value against the format; returns the typed scenario or throws a ScenarioError. */
export function validateScenario(raw: unknown, source = '<object>'): Scenario {
  if (!isObj(raw))
    throw new ScenarioError(`${source}: a scenario is a JSON object {"scenario": 1, "title", "steps": [...]}`);
  if (raw.scenario !== SCENARIO_VERSION) {
    throw new ScenarioError(
      `${source}: field "scenario" must be ${SCENARIO_VERSION} (the format version this dmsim plays), got ${show(raw.scenario)}`,
    );
  }
  for (const key of Object.keys(raw)) {
    if (!['scenario', 'title', 'description', 'kcopyd', 'steps'].includes(key)) {
      throw new ScenarioError(
        `${source}: unknown top-level field "${key}" (known: scenario, title, description, kcopyd, steps)`,
      );
    }
  }
  if (typeof raw.title !== 'string' || raw.title.trim() === '')
    throw new ScenarioError(`${source}: field "title" must be a non-empty string`);
  if (raw.description !== undefined && typeof raw.description !== 'string')
    throw new ScenarioError(`${source}: field "description" must be a string`);
  if (!Array.isArray(raw.steps) || raw.steps.length === 0)
    throw new ScenarioError(`${source}: field "steps" must be a non-empty list of steps`);
  const known: Known = { images: new Set(), devices: new Set() };
  const steps = raw.steps.map((s: unknown, i: number) => readStep(s, i + 1, source, known));
  const scenario: Scenario = { version: SCENARIO_VERSION, title: raw.title, steps, source };
  if (typeof raw.description === 'string') scenario.description = raw.description;
  if (raw.kcopyd !== undefined) scenario.kcopyd = kcopydSettings(raw.kcopyd, source);
  return scenario;
}

function kcopydSettings(raw: unknown, source: string): { sharedPages: number } {
  if (!isObj(raw) || Object.keys(raw).some((k) => k !== 'sharedPages'))
    throw new ScenarioError(`${source}: field "kcopyd" must be {"sharedPages": N}, got ${show(raw)}`);
  return { sharedPages: new StepReader(`${source}: in "kcopyd"`, raw).uint('sharedPages') };
}

/** Parses and validates scenario text (JSON). */
export function parseScenario(text: string, source: string): Scenario {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ScenarioError(`${source}: not valid JSON: ${(e as Error).message}`);
  }
  return validateScenario(raw, source);
}
