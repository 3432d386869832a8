// The verbs `dmsim` and the TUI's command line share, defined once: dmsetup's verbs (create, load, suspend ...
// each the protocol verb of the same name, its words turned into that verb's request args) and dmsim's helpers
// (read, write, copy, mkimg). Verbs only one side has live there: daemon, events, run, tui in src/cli; fail,
// heal, pause, step, help, quit in tui/command.

import { InvalidArgumentError } from '../../base/errors.js';
import { type DepsWords, deviceNaming, type InfoWords, type LsWords } from '../dmsetup-reports.js';
import { treeOptions } from '../dmsetup-tree.js';
import type { VerbArgs } from '../protocol.js';
import type { ReportOptions } from '../report.js';
import { parseWords, type VerbGrammar, type Words } from './grammar.js';
import { REPORT_FIELD_OPTIONS, reportOptions } from './report-options.js';
import { STATS_GRAMMAR } from './stats.js';
import { byteValue, type RegionSpec, regionSpec, sizeWord, wholeNumber } from './words.js';

/** Where a table comes from: its text (--table, or the words on the line), a file, or stdin. */
export type TableSource = { text: string } | { file: string } | { stdin: true };

/** What `write` writes: one byte value in every byte, or the start of a file. */
export type WriteData = { byte: number } | { file: string };

/** One kcopyd job as `copy` describes it (a null source: zero the destinations). */
export interface CopyJob {
  source: RegionSpec | null;
  /** Every destination; a null count means the job's count. */
  dests: RegionSpec[];
  count: number;
  ignoreError: boolean;
  subJobSectors?: number;
  reservePages?: number;
  sharedPoolPages?: number;
  fsync: boolean;
  trace?: string;
}

const NAME = { name: 'NAME' } as const;
const OPTIONAL_NAME = { name: 'NAME', optional: true } as const;
const SECTOR = { name: 'SECTOR', description: 'first sector (512 bytes each)' } as const;
const COUNT = { name: 'COUNT', description: 'number of sectors' } as const;
const TABLE_WORDS = {
  name: 'TABLE',
  optional: true,
  variadic: true,
  description: 'a file holding the table, or the table itself (";" between lines); none: read stdin',
} as const;
const TABLE_OPTION = { flags: '--table <table>', description: 'the table text (one target per line)' } as const;
const FORCE = '-f, --force';

/**
 * The table of create and load: --table TEXT, else the words after NAME (one word names a file: a table line
 * has at least three words), else stdin.
 */
function tableSource(w: Words): TableSource {
  const text = w.value('table');
  const words = w.rest('TABLE');
  if (text !== undefined && words.length > 0) {
    throw new InvalidArgumentError(`give the table either with --table or as TABLE, not both (TABLE: '${words[0]}')`);
  }
  if (text !== undefined) return { text };
  if (words.length === 0) return { stdin: true };
  if (words.length === 1) return { file: words[0]! };
  return {
    text: words
      .join(' ')
      .split(';')
      .map((l) => l.trim())
      .filter((l) => l !== '')
      .join('\n'),
  };
}

function name(w: Words): string {
  return w.arg('NAME')!;
}

function optionalName(w: Words): { name?: string } {
  const n = w.arg('NAME');
  return n !== undefined ? { name: n } : {};
}

function optionalNumber(what: string, word: string | undefined): number | undefined {
  return word === undefined ? undefined : wholeNumber(what, word);
}

/** Verbs with no words at all. */
function bare<V extends 'targets' | 'version'>(request: V, summary: string): VerbGrammar<VerbArgs<V>> {
  return { summary, request, args: [], build: () => ({}) };
}

/** Verbs of one device and nothing else. */
function oneDevice<V extends 'clear' | 'flush' | 'unexport'>(
  request: V,
  summary: string,
  note?: string,
): VerbGrammar<VerbArgs<V>> {
  return { summary, request, args: [NAME], ...(note ? { note } : {}), build: (w) => ({ name: name(w) }) };
}

/** The status and table verbs: one line per target (status --explain: the `explain` request instead). */
function tableLines<V extends 'status' | 'table'>(
  request: V,
  summary: string,
): VerbGrammar<VerbArgs<V> & { explain?: true }> {
  const explain = request === 'status';
  return {
    summary,
    request,
    ...(explain ? { localKeys: ['explain'] } : {}),
    args: [OPTIONAL_NAME],
    options: [
      { flags: '--target <type>', description: 'only lines of this target type' },
      { flags: '--inactive', description: 'the table loaded in the inactive slot (not yet resumed)' },
      {
        flags: '--showkeys',
        description: "accepted for dmsetup compatibility (crypt keys; dmsim's targets have none)",
        inUsage: false,
      },
      ...(explain
        ? [{ flags: '--explain', description: 'name each field and say why the line last changed (dmsim only)' }]
        : []),
    ],
    build: (w) => {
      const target = w.value('target');
      if (explain && w.flag('explain') && (w.arg('NAME') === undefined || target !== undefined))
        throw new InvalidArgumentError('--explain takes one device NAME and no --target');
      return {
        ...optionalName(w),
        ...(target !== undefined ? { target } : {}),
        ...(w.flag('inactive') ? { inactive: true } : {}),
        ...(explain && w.flag('explain') ? { explain: true } : {}),
      };
    },
  };
}

/** dmsetup's udev switches: dmsim has no udev, so there is nothing to wait for (DM_DISABLE_UDEV alike). */
const NOUDEVSYNC = {
  flags: '--noudevsync',
  description: 'accepted for dmsetup compatibility (dmsim has no udev to wait for)',
  inUsage: false,
} as const;

/** The column report's options (dmsetup info -c, splitname). */
const REPORT_OPTIONS = [
  { flags: '-c, --columns', description: 'a column report (-o help lists its fields)' },
  ...REPORT_FIELD_OPTIONS,
] as const;

function infoWords(w: Words): InfoWords {
  const columns = w.flag('columns');
  if (!columns && w.value('options') !== undefined) {
    throw new InvalidArgumentError('-o FIELDS goes with -c (the column report)');
  }
  return { names: w.rest('NAME'), columns: columns ? reportOptions(w) : null };
}

function lsWords(w: Words): LsWords {
  const options = w.value('options');
  const target = w.value('target');
  const exec = w.value('exec');
  const tree = w.flag('tree');
  // Checked here, so a word dmsetup does not know is refused before anything is asked.
  if (options !== undefined) {
    if (tree) treeOptions(options, false);
    else deviceNaming(options);
  }
  return {
    tree,
    ...(options !== undefined ? { options } : {}),
    ...(target !== undefined ? { target } : {}),
    ...(exec !== undefined ? { exec } : {}),
  };
}

function depsWords(w: Words): DepsWords {
  const options = w.value('options');
  return { ...optionalName(w), naming: options === undefined ? null : deviceNaming(options) };
}

function copyJob(w: Words): CopyJob {
  const zero = w.flag('zero');
  const from = w.value('from');
  const first = w.arg('SOURCE');
  const words = [...(first !== undefined ? [first] : []), ...w.rest('DEST')];
  if (zero && from !== undefined) throw new InvalidArgumentError('--zero writes zeros and takes no --from');
  const sourceWord = zero ? undefined : (from ?? words[0]);
  const destWords = [...(zero || from !== undefined ? words : words.slice(1)), ...w.values('to')];
  if (!zero && sourceWord === undefined) {
    throw new InvalidArgumentError('give --from DEV:SECTOR+COUNT (or --zero), or the source as the first region');
  }
  if (destWords.length === 0) {
    throw new InvalidArgumentError('give at least one --to DEV:SECTOR (or a destination after the source)');
  }
  const source = sourceWord === undefined ? null : regionSpec(from !== undefined ? '--from' : 'source', sourceWord);
  if (source && source.count === null) {
    throw new InvalidArgumentError(`'${sourceWord}': the source needs a count: DEV:SECTOR+COUNT`);
  }
  const dests = destWords.map((d) => regionSpec('destination', d));
  const count = source ? source.count : dests[0]!.count;
  if (count === null) {
    throw new InvalidArgumentError(`'${destWords[0]}': with --zero every destination needs a count: DEV:SECTOR+COUNT`);
  }
  dests.forEach((d, i) => {
    if (d.count !== null && d.count !== count) {
      throw new InvalidArgumentError(
        `destination '${destWords[i]}' has ${d.count} sectors but the ${source ? 'source' : 'first destination'} has ${count}`,
      );
    }
  });
  const subJobSectors = optionalNumber('--subjob-sectors', w.value('subjobSectors'));
  const reservePages = optionalNumber('--pages', w.value('pages'));
  const sharedPoolPages = optionalNumber('--shared-pages', w.value('sharedPages'));
  const trace = w.value('trace');
  return {
    source,
    dests,
    count,
    ignoreError: w.flag('ignoreError'),
    fsync: w.flag('fsync'),
    ...(subJobSectors !== undefined ? { subJobSectors } : {}),
    ...(reservePages !== undefined ? { reservePages } : {}),
    ...(sharedPoolPages !== undefined ? { sharedPoolPages } : {}),
    ...(trace !== undefined ? { trace } : {}),
  };
}

/** What `wait --for` waits for (control/wait-for.ts; dmsetup has no such option). */
const WAIT_CONDITIONS = ['sync', 'merged', 'invalid'] as const;

/** `wait`: dmsetup's wait for an event number, or dmsim's wait for a condition of the device's status. */
type WaitWords =
  | { event: VerbArgs<'wait'> }
  | { name: string; condition: (typeof WAIT_CONDITIONS)[number]; timeoutMs?: number };

function waitWords(w: Words): WaitWords {
  const event = w.arg('EVENT_NR');
  const condition = w.value('for');
  const timeout = w.value('timeout');
  if (condition === undefined) {
    if (timeout !== undefined) throw new InvalidArgumentError('--timeout goes with --for');
    const eventNr = optionalNumber('EVENT_NR', event);
    return { event: eventNr === undefined ? { name: name(w) } : { name: name(w), eventNr } };
  }
  const known = WAIT_CONDITIONS.find((c) => c === condition);
  if (known === undefined)
    throw new InvalidArgumentError(`--for takes ${WAIT_CONDITIONS.join(', ')}, not '${condition}'`);
  if (event !== undefined) throw new InvalidArgumentError('give either EVENT_NR or --for, not both');
  if (timeout === undefined) return { name: name(w), condition: known };
  const seconds = Number(timeout);
  if (timeout.trim() === '' || !Number.isFinite(seconds) || seconds < 0) {
    throw new InvalidArgumentError(`--timeout takes a number of seconds >= 0, not '${timeout}'`);
  }
  return { name: name(w), condition: known, timeoutMs: seconds * 1000 };
}

/** What `inspect` looks at: a device (none: the TUI's selected one), or an image file read directly. */
type InspectWords = { name?: string } | { file: string; format: ImageFormat };

/** The image formats `inspect --as` reads (auto: by the magic number at the start). */
const IMAGE_FORMATS = ['cow', 'disk-log', 'auto'] as const;
type ImageFormat = (typeof IMAGE_FORMATS)[number];

/** A word with a '/' is a path (device names have none); --as makes any word a file. */
function inspectWords(w: Words): InspectWords {
  const target = w.arg('TARGET');
  const as = w.value('as');
  const format = as === undefined ? undefined : IMAGE_FORMATS.find((f) => f === as);
  if (as !== undefined && format === undefined)
    throw new InvalidArgumentError(`--as takes ${IMAGE_FORMATS.join(', ')}, not '${as}'`);
  if (format !== undefined || target?.includes('/')) {
    if (target === undefined) throw new InvalidArgumentError('--as needs the image FILE to read');
    return { file: target, format: format ?? 'auto' };
  }
  return target !== undefined ? { name: target } : {};
}

/** Every shared verb, by the word that names it (the protocol's verb name, except remove_all). */
export const VERB_GRAMMAR = {
  create: {
    summary: 'create a device from a table (--table, a file, the words after NAME, or stdin)',
    args: [NAME, TABLE_WORDS],
    options: [
      TABLE_OPTION,
      { flags: '-u, --uuid <uuid>', description: 'the device UUID' },
      { flags: '-r, --readonly', description: 'create the device read-only' },
      { flags: '-n, --notable', description: 'create the device without loading a table' },
      NOUDEVSYNC,
    ],
    note: 'TABLE: a file, or table lines separated by ";"',
    build: (w): { args: Omit<VerbArgs<'create'>, 'table'>; table: TableSource } => {
      const notable = w.flag('notable');
      const uuid = w.value('uuid');
      return {
        args: { name: name(w), readOnly: w.flag('readonly'), notable, ...(uuid !== undefined ? { uuid } : {}) },
        table: notable ? { text: '' } : tableSource(w),
      };
    },
  } satisfies VerbGrammar<unknown>,
  load: {
    summary: 'load a table into the inactive slot; resume makes it live',
    aliases: ['reload'],
    args: [NAME, TABLE_WORDS],
    options: [TABLE_OPTION, NOUDEVSYNC],
    build: (w): { name: string; table: TableSource } => ({ name: name(w), table: tableSource(w) }),
  } satisfies VerbGrammar<unknown>,
  suspend: {
    summary: 'suspend a device: wait for in-flight I/O, hold new I/O',
    request: 'suspend',
    args: [NAME],
    options: [
      { flags: '--noflush', description: 'keep queued I/O instead of flushing it' },
      { flags: '--nolockfs', description: 'accepted for dmsetup compatibility (there is no filesystem to freeze)' },
      NOUDEVSYNC,
    ],
    build: (w): VerbArgs<'suspend'> => ({ name: name(w), noflush: w.flag('noflush') }),
  } satisfies VerbGrammar<unknown>,
  resume: {
    summary: 'resume a device, making a loaded inactive table live',
    request: 'resume',
    args: [NAME],
    options: [NOUDEVSYNC],
    build: (w): VerbArgs<'resume'> => ({ name: name(w) }),
  } satisfies VerbGrammar<unknown>,
  remove: {
    summary: 'remove a device',
    request: 'remove',
    args: [NAME],
    options: [
      { flags: FORCE, description: 'replace the table with an error target first, so a busy device fails its I/O' },
      { flags: '--deferred', description: 'if the device is open, remove it when its last opener closes' },
      NOUDEVSYNC,
    ],
    build: (w): VerbArgs<'remove'> => ({
      name: name(w),
      force: w.flag('force'),
      ...(w.flag('deferred') ? { deferred: true } : {}),
    }),
  } satisfies VerbGrammar<unknown>,
  remove_all: {
    summary: 'remove every device',
    request: 'removeAll',
    args: [],
    options: [{ flags: FORCE, description: "replace busy devices' tables with error targets first" }, NOUDEVSYNC],
    note: '-f: busy devices get error tables first',
    build: (w): VerbArgs<'removeAll'> => ({ force: w.flag('force') }),
  } satisfies VerbGrammar<unknown>,
  clear: oneDevice('clear', 'drop the table loaded in the inactive slot', 'drop the inactive table'),
  message: {
    summary: 'send a message to the target that maps SECTOR',
    request: 'message',
    args: [NAME, SECTOR, { name: 'MESSAGE', variadic: true }],
    build: (w): VerbArgs<'message'> => ({
      name: name(w),
      sector: wholeNumber('SECTOR', w.arg('SECTOR')!),
      // dmsetup joins its words into one string and the kernel splits it at white space (dm_split_args), so a
      // quoted "create_thin 1" is two words.
      message: w
        .rest('MESSAGE')
        .flatMap((m) => m.split(/\s+/))
        .filter((m) => m !== ''),
    }),
  } satisfies VerbGrammar<unknown>,
  status: tableLines('status', "show each target's status (the kernel's STATUSTYPE_INFO)"),
  table: tableLines('table', "show the live table, or the inactive one (the kernel's STATUSTYPE_TABLE)"),
  info: {
    summary: 'show device state, tables, open count, event number (-c: a column report of chosen fields)',
    args: [{ name: 'NAME', optional: true, variadic: true }],
    options: REPORT_OPTIONS,
    build: infoWords,
  } satisfies VerbGrammar<unknown>,
  deps: {
    summary: "list the devices a device's live table uses",
    args: [OPTIONAL_NAME],
    options: [{ flags: '-o, --options <naming>', description: 'name them by devno, blkdevname or devname' }],
    build: depsWords,
  } satisfies VerbGrammar<unknown>,
  ls: {
    summary: 'list the devices (--tree: as a tree of what uses what)',
    args: [],
    options: [
      { flags: '--tree', description: 'draw the devices as a tree of what uses what' },
      {
        flags: '-o, --options <options>',
        description:
          'with --tree: device, nodevice, blkdevname, active, open, rw, uuid, ascii, utf, vt100, compact, inverted, notrunc; else devno, blkdevname or devname',
      },
      { flags: '--target <type>', description: 'only devices with a target of this type', inUsage: false },
      {
        flags: '--exec <command>',
        description: 'run COMMAND with /dev/mapper/NAME after it for each device',
        inUsage: false,
      },
    ],
    build: lsWords,
  } satisfies VerbGrammar<unknown>,
  rename: {
    summary: 'rename a device, or with --setuuid give a device without a uuid one',
    request: 'rename',
    args: [NAME, { name: 'NEW_NAME', description: 'the new name (with --setuuid: the uuid)' }],
    options: [{ flags: '--setuuid', description: 'set the uuid instead of the name' }, NOUDEVSYNC],
    build: (w): VerbArgs<'rename'> => {
      const to = w.arg('NEW_NAME')!;
      return w.flag('setuuid') ? { name: name(w), uuid: to } : { name: name(w), newName: to };
    },
  } satisfies VerbGrammar<unknown>,
  splitname: {
    summary: 'split an LVM device name into VG, LV and layer (SUBSYSTEM defaults to LVM)',
    args: [NAME, { name: 'SUBSYSTEM', optional: true }],
    options: REPORT_OPTIONS,
    build: (w): { name: string; subsystem?: string; report: ReportOptions } => {
      const subsystem = w.arg('SUBSYSTEM');
      return { name: name(w), ...(subsystem !== undefined ? { subsystem } : {}), report: reportOptions(w) };
    },
  } satisfies VerbGrammar<unknown>,
  mknodes: {
    summary: 'accepted for dmsetup compatibility: dmsim has no /dev/mapper nodes to make',
    args: [{ name: 'NAME', optional: true, variadic: true }],
    options: [NOUDEVSYNC],
    build: (w): { names: string[] } => ({ names: w.rest('NAME') }),
  } satisfies VerbGrammar<unknown>,
  wait: {
    summary:
      'wait until the event counter of a device differs from EVENT_NR (default 0), or with --for until a mirror is in sync, a merge has finished or a snapshot is Invalid',
    args: [NAME, { name: 'EVENT_NR', optional: true }],
    options: [
      {
        flags: '--for <condition>',
        description: `wait for a condition instead of an event: ${WAIT_CONDITIONS.join(', ')}`,
      },
      {
        flags: '--timeout <seconds>',
        description: 'with --for: give up after this many seconds, showing the status then',
      },
    ],
    note: 'until the event number differs from EVENT_NR, default 0',
    build: waitWords,
  } satisfies VerbGrammar<unknown>,
  flush: oneDevice('flush', 'flush a device'),
  targets: bare('targets', 'list the target types and their versions'),
  version: bare('version', "print dmsim's and the driver interface's versions"),
  read: {
    summary: 'read COUNT sectors from SECTOR of a device (--out FILE: the bytes into FILE)',
    args: [NAME, SECTOR, COUNT],
    options: [{ flags: '--out <file>', description: 'write the bytes to FILE' }],
    build: (w): VerbArgs<'read'> & { out?: string } => {
      const out = w.value('out');
      return {
        name: name(w),
        sector: wholeNumber('SECTOR', w.arg('SECTOR')!),
        count: wholeNumber('COUNT', w.arg('COUNT')!),
        ...(out !== undefined ? { out } : {}),
      };
    },
  } satisfies VerbGrammar<unknown>,
  write: {
    summary: 'write COUNT sectors at SECTOR of a device: all one BYTE (or --byte) value, or --from FILE',
    args: [NAME, SECTOR, COUNT, { name: 'BYTE', optional: true, description: 'fill every byte with BYTE' }],
    options: [
      { flags: '--byte <value>', description: 'fill every byte with VALUE (0xAB or 171)' },
      { flags: '--from <file>', description: 'take the data from the start of FILE' },
    ],
    note: 'BYTE: 0xab or 171',
    build: (w): { name: string; sector: number; count: number; data: WriteData } => {
      const sector = wholeNumber('SECTOR', w.arg('SECTOR')!);
      const count = wholeNumber('COUNT', w.arg('COUNT')!);
      const given = [w.arg('BYTE'), w.value('byte'), w.value('from')].filter((x) => x !== undefined);
      if (given.length !== 1) throw new InvalidArgumentError('give exactly one of BYTE, --byte VALUE or --from FILE');
      const byte = w.arg('BYTE');
      const option = w.value('byte');
      const from = w.value('from');
      const data: WriteData =
        from !== undefined
          ? { file: from }
          : { byte: byte !== undefined ? byteValue('BYTE', byte) : byteValue('--byte', option!) };
      return { name: name(w), sector, count, data };
    },
  } satisfies VerbGrammar<unknown>,
  copy: {
    summary: 'copy (or zero) a region of files or block devices with the kcopyd engine',
    args: [
      { name: 'SOURCE', optional: true, description: 'DEV:SECTOR+COUNT (with --from or --zero: a destination)' },
      { name: 'DEST', optional: true, variadic: true, description: 'DEV:SECTOR or DEV:SECTOR+COUNT' },
    ],
    options: [
      { flags: '--from <DEV:SECTOR+COUNT>', description: 'the source region', inUsage: false },
      {
        flags: '--to <DEV:SECTOR[+COUNT]>',
        description: 'a destination (up to 8; repeat the option)',
        repeat: true,
        inUsage: false,
      },
      { flags: '--zero', description: 'write zeros to the destinations (they need +COUNT) instead of copying' },
      {
        flags: '--ignore-error',
        description: 'DM_KCOPYD_IGNORE_ERROR: go on after errors, writing zeros for unreadable pages',
      },
      { flags: '--subjob-sectors <n>', description: 'sub-job size in sectors, 8..2048 (default 1024)', inUsage: false },
      { flags: '--pages <n>', description: "the client's page reserve (default: one sub-job's worth)", inUsage: false },
      {
        flags: '--shared-pages <n>',
        description: 'limit the pages taken beyond the reserve (default: unlimited)',
        inUsage: false,
      },
      {
        flags: '--fsync',
        description: 'flush the destinations when done (not counted in the throughput)',
        inUsage: false,
      },
      {
        flags: '--trace <file>',
        description:
          'write every engine event to FILE: JSON lines, or a Chrome trace (Perfetto, chrome://tracing) when FILE ends in .json',
        inUsage: false,
      },
    ],
    note: 'SOURCE DEV:SECTOR+COUNT, DEST DEV:SECTOR; DEV: a file or /dev/mapper/NAME',
    build: copyJob,
  } satisfies VerbGrammar<unknown>,
  mkimg: {
    summary: 'make a sparse image file (SIZE: 2048s, 64M, 1G ...)',
    args: [{ name: 'PATH' }, { name: 'SIZE' }],
    options: [{ flags: FORCE, description: 'replace an existing file' }],
    note: 'SIZE: 2048s, 64M ...',
    build: (w): { path: string; size: string; force: boolean } => ({
      path: w.arg('PATH')!,
      size: sizeWord(w.arg('SIZE')!),
      force: w.flag('force'),
    }),
  } satisfies VerbGrammar<unknown>,
  export: {
    summary: 'export a device over NBD (qemu-img, qemu-io, nbdinfo, nbdcopy ... can then use it)',
    request: 'export',
    args: [NAME],
    options: [
      {
        flags: '--listen <address>',
        description:
          'unix:PATH or tcp:HOST:PORT (default: unix socket beside the control socket; other addresses are never chosen for you)',
      },
      { flags: '--read-only', description: 'refuse writes from NBD clients' },
    ],
    note: 'over NBD',
    build: (w): VerbArgs<'export'> => {
      const listen = w.value('listen');
      return { name: name(w), readOnly: w.flag('readOnly'), ...(listen !== undefined ? { listen } : {}) };
    },
  } satisfies VerbGrammar<unknown>,
  unexport: oneDevice('unexport', 'stop exporting a device over NBD'),
  stats: STATS_GRAMMAR,
  inspect: {
    summary:
      "show a device's structures (snapshot COW store, mirror log, kcopyd lists), or decode a COW or disk-log image FILE",
    args: [
      { name: 'TARGET', optional: true, description: 'a device NAME, or an image FILE (a path with "/", or --as)' },
    ],
    options: [
      {
        flags: '--as <format>',
        description: `read TARGET as an image file: ${IMAGE_FORMATS.join(', ')} (by its magic)`,
      },
    ],
    note: 'NAME, or FILE --as cow|disk-log|auto',
    build: inspectWords,
  } satisfies VerbGrammar<unknown>,
};

export type SharedVerb = keyof typeof VERB_GRAMMAR;

/** What a shared verb's words become. */
export type VerbWordsValue<W extends SharedVerb> = ReturnType<(typeof VERB_GRAMMAR)[W]['build']>;

/** A parsed command line of a shared verb; switching on `verb` narrows `args`. */
export type VerbCommand = { [W in SharedVerb]: { verb: W; args: VerbWordsValue<W> } }[SharedVerb];

export function grammarOf<W extends SharedVerb>(word: W): VerbGrammar<VerbWordsValue<W>> {
  return VERB_GRAMMAR[word] as unknown as VerbGrammar<VerbWordsValue<W>>;
}

/** The shared verb a word names (an alias too), if any. */
export function sharedVerb(word: string): SharedVerb | undefined {
  for (const [verb, g] of Object.entries(VERB_GRAMMAR) as [SharedVerb, VerbGrammar<unknown>][]) {
    if (verb === word || g.aliases?.includes(word)) return verb;
  }
  return undefined;
}

/** Parses the words after a shared verb (a command line split into words, as the TUI's is). */
export function parseVerb<W extends SharedVerb>(verb: W, argv: readonly string[]): VerbCommand {
  return { verb, args: parseWords(verb, grammarOf(verb), argv) } as VerbCommand;
}
