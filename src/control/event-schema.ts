// The shape of every DmEvent kind at run time, so an event that arrives as JSON (the daemon's `events` stream,
// a recorded trace) is checked once, where it comes in, and is a typed DmEvent from then on. The shapes are
// typed against DmEventMap (src/base/events.ts and the modules that augment it): a kind or field missing here,
// or a field checked as the wrong type, does not compile. The kernel's twin is the tracepoint format a reader
// such as trace-cmd checks records against (include/trace/events/*.h), which dm has none of.

import { InvalidArgumentError } from '../base/errors.js';
import type { DmEvent, DmEventMap, DmEventType } from '../base/events.js';

/** A check of one field's value: the reason it is refused, or undefined. */
interface FieldCheck {
  readonly test: (v: unknown) => string | undefined;
  /** The field may be absent. */
  readonly optional?: true;
}

/** A check that admits the type V (invariant in V: a check that admits less or more fails to compile). */
interface Check<V> extends FieldCheck {
  readonly admits?: (v: V) => V;
}

type OptionalKeys<T> = { [K in keyof T]-?: object extends Pick<T, K> ? K : never }[keyof T];

/** A check for every field of T, an optional() one for each optional field. */
type Shape<T> = {
  [K in keyof T]-?: K extends OptionalKeys<T> ? Check<Exclude<T[K], undefined> | undefined> : Check<T[K]>;
};

function check<V>(what: string, ok: (v: unknown) => boolean): Check<V> {
  return { test: (v) => (ok(v) ? undefined : `must be ${what}, not ${JSON.stringify(v) ?? 'undefined'}`) };
}

const str = check<string>('a string', (v) => typeof v === 'string');
const num = check<number>('a number', (v) => typeof v === 'number' && Number.isFinite(v));
const bool = check<boolean>('true or false', (v) => typeof v === 'boolean');

function oneOf<const T extends readonly (string | number)[]>(...values: T): Check<T[number]> {
  return check(`one of ${values.join(', ')}`, (v) => values.includes(v as T[number]));
}

function nullable<V>(c: Check<V>): Check<V | null> {
  return { test: (v) => (v === null ? undefined : c.test(v)) };
}

function optional<V>(c: Check<V>): Check<V | undefined> {
  return { test: (v) => (v === undefined ? undefined : c.test(v)), optional: true };
}

function list<V>(c: Check<V>): Check<V[]> {
  return {
    test: (v) => {
      if (!Array.isArray(v)) return 'must be a list';
      for (const [i, item] of v.entries()) {
        const bad = c.test(item);
        if (bad !== undefined) return `[${i}] ${bad}`;
      }
      return undefined;
    },
  };
}

function record<T>(shape: Shape<T>): Check<T> {
  return {
    test: (v) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'must be an object';
      return fieldProblem(shape as Record<string, FieldCheck>, v as Record<string, unknown>);
    },
  };
}

/** The first field of v the shape refuses, as "field 'x' must be ...", or undefined. */
function fieldProblem(shape: Record<string, FieldCheck>, v: Record<string, unknown>): string | undefined {
  for (const [key, c] of Object.entries(shape)) {
    if (v[key] === undefined && !c.optional) return `field '${key}' is missing`;
    const bad = c.test(v[key]);
    if (bad !== undefined) return `field '${key}' ${bad}`;
  }
  return undefined;
}

type Fields<K extends DmEventType> = DmEventMap[K];

const client = { client: num, owner: str };
const region = record<Fields<'kcopyd.job'>['dests'][number]>({ device: str, sector: num, count: num });
const blockRun = record<Fields<'thin.map'>['mapped'][number]>({ first: num, count: num });
const exception = { device: str, oldChunk: num, newChunk: num, chunkSize: num };

const EVENT_SHAPES: { [K in DmEventType]: Shape<Fields<K>> } = {
  'io.error': { device: str, op: str, sector: num, count: num, code: str, message: str, issuer: optional(str) },
  'dm.created': { device: str, minor: num, uuid: optional(str) },
  'dm.removed': { device: str, minor: num },
  'dm.renamed': { device: str, name: str, minor: num, uuid: optional(str) },
  'dm.loaded': { device: str, targets: num, sizeSectors: num },
  'dm.table_swapped': { device: str, targets: num, sizeSectors: num },
  'dm.suspended': { device: str, noflush: bool },
  'dm.resumed': { device: str },
  'dm.event': { device: str, eventNr: num },
  'dm.warning': { device: str, kind: str, message: str },
  'dm.io': { device: str, op: oneOf('read', 'write'), sector: num, count: num },
  'kcopyd.client': {
    ...client,
    action: oneOf('create', 'destroying', 'destroyed'),
    reservePages: num,
    subJobSectors: num,
    throttle: num,
  },
  'kcopyd.job': {
    ...client,
    job: num,
    master: num,
    slot: nullable(num),
    kind: oneOf('copy', 'zero', 'callback'),
    phase: oneOf(
      'queued',
      'pages-wait',
      'pages-taken',
      'read-issued',
      'read-done',
      'write-issued',
      'write-done',
      'rogue',
      'complete',
      'callback-done',
    ),
    op: oneOf('read', 'write'),
    list: nullable(oneOf('pages_jobs', 'io_jobs', 'complete_jobs', 'callback_jobs')),
    source: nullable(region),
    dests: list(region),
    offset: num,
    count: num,
    flags: record<Fields<'kcopyd.job'>['flags']>({ ignoreError: bool, writeSeq: bool }),
    pages: num,
    readErr: bool,
    writeErr: num,
  },
  'kcopyd.progress': {
    ...client,
    job: num,
    totalSectors: num,
    handedOut: num,
    doneSectors: num,
    inFlight: num,
    chunks: num,
    chunksDone: num,
  },
  'kcopyd.pool': {
    ...client,
    reserveTotal: num,
    reserveFree: num,
    sharedUsed: num,
    engineSharedUsed: num,
    sharedLimit: nullable(num),
  },
  'kcopyd.queues': { ...client, pagesJobs: num, ioJobs: num, completeJobs: num, callbackJobs: num, nrJobs: num },
  'kcopyd.pass': {
    ...client,
    pass: num,
    kind: oneOf('full', 'resume'),
    completed: num,
    paged: num,
    issued: num,
    pagesBlocked: bool,
    sleeping: bool,
  },
  'kcopyd.io-error': {
    ...client,
    job: num,
    master: num,
    op: oneOf('read', 'write'),
    dest: nullable(num),
    device: str,
    sector: num,
    count: num,
    code: str,
    message: str,
  },
  'kcopyd.throttle': { ...client, job: num, sleepMs: num, sleeps: num, throttle: num },
  'snapshot.exception.allocated': { ...exception, cause: oneOf('origin-write', 'snapshot-write', 'merge') },
  'snapshot.exception.committed': { ...exception, success: bool },
  'snapshot.copy.started': { ...exception, sectors: num, mode: oneOf('copy', 'full-write'), job: optional(num) },
  'snapshot.copy.finished': { ...exception, readErr: bool, writeErr: num },
  'snapshot.invalidated': { device: str, reason: str },
  'snapshot.overflow': { device: str },
  'snapshot.merge.progress': {
    device: str,
    firstOldChunk: num,
    firstNewChunk: num,
    chunks: num,
    sectorsAllocated: num,
    metadataSectors: num,
    job: optional(num),
  },
  'snapshot.merge.state': { device: str, state: oneOf('running', 'stopped', 'finished', 'failed'), reason: str },
  'mirror.region': {
    device: str,
    region: num,
    state: oneOf('clean', 'dirty', 'nosync', 'recovering'),
    code: oneOf(1, 2, 4, 8),
  },
  'mirror.recovery': {
    device: str,
    region: num,
    phase: oneOf('start', 'end'),
    sector: num,
    count: num,
    source: num,
    job: optional(num),
    ok: optional(bool),
    readErr: optional(bool),
    writeErr: optional(num),
  },
  'mirror.leg': {
    device: str,
    leg: num,
    name: str,
    health: oneOf('A', 'D', 'S', 'R', 'U', 'F'),
    reason: oneOf('write', 'flush', 'sync', 'read', 'default', 'reset'),
    defaultLeg: num,
  },
  'mirror.sync': { device: str, inSync: num, total: num, complete: bool },
  'mirror.log': { device: str, log: str, health: oneOf('A', 'D', 'F') },
  'status.changed': {
    device: str,
    from: list(str),
    to: list(str),
    changes: list(record<Fields<'status.changed'>['changes'][number]>({ name: str, from: str, to: str })),
    causes: list(str),
  },
  'thin.pool.mode': { device: str, mode: str, message: str },
  'thin.pool.low_water': { device: str, space: oneOf('data', 'metadata'), message: str },
  'thin.pool.commit': { device: str, transactionId: str },
  'thin.pool.metadata_error': { device: str, operation: str, message: str },
  'thin.provision': {
    device: str,
    thinId: num,
    virtBlock: num,
    dataBlock: num,
    how: oneOf('zero', 'overwrite', 'no-zero', 'break-sharing', 'external-copy'),
  },
  'thin.pool.message': { device: str, args: list(str) },
  'thin.map': {
    device: str,
    thinId: num,
    blockSectors: num,
    blocks: num,
    mapped: list(blockRun),
    shared: list(blockRun),
  },
  'nbd.export': {
    device: str,
    action: oneOf('exported', 'unexported'),
    listen: str,
    uri: str,
    readOnly: bool,
    clients: num,
  },
  'nbd.client': { device: str, action: oneOf('connected', 'disconnected'), clients: num },
};

/** Checks one event as it arrived (parsed JSON); throws InvalidArgumentError saying what is wrong with it. */
export function parseEvent(raw: unknown): DmEvent {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new InvalidArgumentError('malformed event: not a JSON object');
  }
  const r = raw as Record<string, unknown>;
  if (typeof r.type !== 'string' || !Object.hasOwn(EVENT_SHAPES, r.type)) {
    throw new InvalidArgumentError(`malformed event: unknown type ${JSON.stringify(r.type) ?? 'undefined'}`);
  }
  const shape = EVENT_SHAPES[r.type as DmEventType] as Record<string, FieldCheck>;
  const bad = fieldProblem({ seq: num, time: num, ...shape }, r);
  if (bad !== undefined) throw new InvalidArgumentError(`malformed ${r.type} event: ${bad}`);
  return raw as DmEvent;
}
