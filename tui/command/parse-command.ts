// The UI's command line: the CLI verbs (create, load, suspend, resume, remove, remove_all, clear, message, status,
// table, info, deps, ls, wait, flush, targets, version, write, read, copy, mkimg, export, unexport) with dmsetup's argument order, plus the fail/heal shortcuts and pause/step.
// Parsing is separate from running so a bad line is refused with its usage before anything happens.

import { InvalidArgumentError } from '../../src/base/errors.js';

export type TuiCommand =
  | { verb: 'create' | 'load'; name: string; table: string }
  | { verb: 'suspend'; name: string; noflush: boolean }
  | { verb: 'resume'; name: string }
  | { verb: 'remove'; name: string; force: boolean }
  | { verb: 'remove_all'; force: boolean }
  | { verb: 'wait'; name: string; eventNr?: number }
  | { verb: 'flush' | 'clear'; name: string }
  | { verb: 'message'; name: string; sector: number; message: string[] }
  | { verb: 'status' | 'table' | 'info' | 'deps'; name?: string }
  | { verb: 'ls' | 'targets' | 'version' }
  | { verb: 'write'; name: string; sector: number; count: number; byte: number }
  | { verb: 'read'; name: string; sector: number; count: number }
  | { verb: 'copy'; from: RegionWord; to: RegionWord[]; ignoreError: boolean }
  | { verb: 'mkimg'; path: string; size: string }
  | { verb: 'export'; name: string; listen?: string; readOnly: boolean }
  | { verb: 'unexport'; name: string }
  | { verb: 'fail' | 'heal'; name: string }
  | { verb: 'help'; topic?: string }
  | { verb: 'pause' | 'resume-engine' | 'step' | 'quit' };

/** DEV:SECTOR+COUNT (a source) or DEV:SECTOR (a destination: its count is the source's). */
export interface RegionWord {
  device: string;
  sector: number;
  count?: number;
}

export const USAGE: Record<string, string> = {
  create: 'create NAME TABLE   (table lines separated by ";")',
  load: 'load NAME TABLE',
  reload: 'reload NAME TABLE',
  suspend: 'suspend NAME [--noflush]',
  resume: 'resume NAME',
  remove: 'remove NAME [-f]',
  remove_all: 'remove_all [-f]   (-f: busy devices get error tables first)',
  clear: 'clear NAME   (drop the inactive table)',
  message: 'message NAME SECTOR MESSAGE...',
  status: 'status [NAME]',
  table: 'table [NAME]',
  info: 'info [NAME]',
  deps: 'deps [NAME]',
  ls: 'ls',
  wait: 'wait NAME [EVENT_NR]   (until the event number differs from EVENT_NR, default 0)',
  flush: 'flush NAME',
  targets: 'targets',
  version: 'version',
  write: 'write NAME SECTOR COUNT BYTE   (BYTE: 0xab or 171)',
  read: 'read NAME SECTOR COUNT',
  copy: 'copy DEV:SECTOR+COUNT DEV:SECTOR... [--ignore-error]   (DEV: a file or /dev/mapper/NAME)',
  mkimg: 'mkimg PATH SIZE   (SIZE: 2048s, 64M ...)',
  export: 'export NAME [--listen unix:PATH|tcp:HOST:PORT] [--read-only]   (over NBD)',
  unexport: 'unexport NAME',
  fail: 'fail NAME   (swap an error table under NAME)',
  heal: 'heal NAME   (restore the table fail replaced)',
  pause: 'pause | unpause | step',
  help: 'help [VERB]',
  quit: 'quit',
};

function usage(verb: string, why: string): InvalidArgumentError {
  return new InvalidArgumentError(`${verb}: ${why}; usage: ${USAGE[verb] ?? verb}`);
}

function whole(verb: string, what: string, word: string | undefined): number {
  if (word === undefined) throw usage(verb, `missing ${what}`);
  if (!/^\d+$/.test(word) || !Number.isSafeInteger(Number(word)))
    throw usage(verb, `${what} must be a whole number, not '${word}'`);
  return Number(word);
}

function byteValue(word: string | undefined): number {
  if (word === undefined) throw usage('write', 'missing BYTE');
  const v = /^0x[0-9a-f]{1,2}$/i.test(word) ? parseInt(word, 16) : /^\d{1,3}$/.test(word) ? Number(word) : NaN;
  if (!(v >= 0 && v <= 255)) throw usage('write', `BYTE must be 0..255 or 0x00..0xff, not '${word}'`);
  return v;
}

function parseRegion(word: string, needCount: boolean): RegionWord {
  const m = /^(.+):(\d+)(?:\+(\d+))?$/.exec(word);
  if (!m) throw usage('copy', `'${word}' is not DEV:SECTOR${needCount ? '+COUNT' : ''}`);
  if (needCount && m[3] === undefined) throw usage('copy', `the source '${word}' needs a length: DEV:SECTOR+COUNT`);
  return { device: m[1]!, sector: Number(m[2]), ...(m[3] !== undefined ? { count: Number(m[3]) } : {}) };
}

function name(verb: string, words: string[]): string {
  const n = words[1];
  if (n === undefined || n.startsWith('-')) throw usage(verb, 'missing NAME');
  return n;
}

/** Parses one command line. An empty line is refused too (the caller ignores blank input first). */
export function parseCommand(line: string): TuiCommand {
  const words = line
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  const verb = words[0];
  if (verb === undefined) throw new InvalidArgumentError('empty command; type help for the list');
  const extra = (max: number): void => {
    if (words.length > max) throw usage(verb, `unexpected '${words[max]}'`);
  };
  switch (verb) {
    case 'create':
    case 'load':
    case 'reload': {
      const n = name(verb, words);
      const table = line
        .trim()
        .slice(line.trim().indexOf(n, verb.length) + n.length)
        .trim();
      if (table === '') throw usage(verb, 'missing TABLE');
      return {
        verb: verb === 'reload' ? 'load' : verb,
        name: n,
        table: table
          .split(';')
          .map((l) => l.trim())
          .filter((l) => l !== '')
          .join('\n'),
      };
    }
    case 'suspend': {
      const noflush = words.includes('--noflush');
      const rest = words.filter((w) => w !== '--noflush');
      if (rest.length > 2) throw usage(verb, `unexpected '${rest[2]}'`);
      return { verb, name: name(verb, rest), noflush };
    }
    case 'resume':
      extra(2);
      return { verb, name: name(verb, words) };
    case 'remove': {
      const force = words.includes('-f') || words.includes('--force');
      const rest = words.filter((w) => w !== '-f' && w !== '--force');
      if (rest.length > 2) throw usage(verb, `unexpected '${rest[2]}'`);
      return { verb, name: name(verb, rest), force };
    }
    case 'remove_all': {
      const force = words.includes('-f') || words.includes('--force');
      const rest = words.filter((w) => w !== '-f' && w !== '--force');
      if (rest.length > 1) throw usage(verb, `unexpected '${rest[1]}'`);
      return { verb, force };
    }
    case 'wait': {
      extra(3);
      const n = name(verb, words);
      return words[2] !== undefined ? { verb, name: n, eventNr: whole(verb, 'EVENT_NR', words[2]) } : { verb, name: n };
    }
    case 'message': {
      const n = name(verb, words);
      const sector = whole(verb, 'SECTOR', words[2]);
      if (words.length < 4) throw usage(verb, 'missing MESSAGE');
      return { verb, name: n, sector, message: words.slice(3) };
    }
    case 'status':
    case 'table':
    case 'info':
    case 'deps':
      extra(2);
      return words[1] !== undefined ? { verb, name: words[1] } : { verb };
    case 'ls':
    case 'targets':
    case 'version':
      extra(1);
      return { verb };
    case 'write': {
      extra(5);
      const n = name(verb, words);
      return {
        verb,
        name: n,
        sector: whole(verb, 'SECTOR', words[2]),
        count: whole(verb, 'COUNT', words[3]),
        byte: byteValue(words[4]),
      };
    }
    case 'read': {
      extra(4);
      const n = name(verb, words);
      return { verb, name: n, sector: whole(verb, 'SECTOR', words[2]), count: whole(verb, 'COUNT', words[3]) };
    }
    case 'copy': {
      const ignoreError = words.includes('--ignore-error');
      const rest = words.slice(1).filter((w) => w !== '--ignore-error' && w !== '--from' && w !== '--to');
      if (rest.length < 2) throw usage(verb, 'needs a source and at least one destination');
      return {
        verb,
        from: parseRegion(rest[0]!, true),
        to: rest.slice(1).map((w) => parseRegion(w, false)),
        ignoreError,
      };
    }
    case 'mkimg':
      extra(3);
      if (words.length < 3) throw usage(verb, 'missing PATH or SIZE');
      return { verb, path: words[1]!, size: words[2]! };
    case 'export': {
      const readOnly = words.includes('--read-only');
      const rest = words.filter((w) => w !== '--read-only');
      let listen: string | undefined;
      const at = rest.findIndex((w) => w === '--listen' || w.startsWith('--listen='));
      if (at >= 0) {
        const word = rest[at]!;
        listen = word === '--listen' ? rest[at + 1] : word.slice('--listen='.length);
        if (listen === undefined || listen === '' || listen.startsWith('-'))
          throw usage(verb, '--listen needs an address');
        rest.splice(at, word === '--listen' ? 2 : 1);
      }
      if (rest.length > 2) throw usage(verb, `unexpected '${rest[2]}'`);
      return { verb, name: name(verb, rest), readOnly, ...(listen !== undefined ? { listen } : {}) };
    }
    case 'unexport':
    case 'flush':
    case 'clear':
    case 'fail':
    case 'heal':
      extra(2);
      return { verb, name: name(verb, words) };
    case 'help': {
      extra(2);
      const topic = words[1];
      if (topic !== undefined && USAGE[topic] === undefined) throw usage(verb, `no command '${topic}'`);
      return topic !== undefined ? { verb, topic } : { verb };
    }
    case 'pause':
    case 'step':
    case 'quit':
      extra(1);
      return { verb };
    case 'unpause':
      extra(1);
      return { verb: 'resume-engine' };
    default:
      throw new InvalidArgumentError(`unknown command '${verb}'; commands: ${Object.keys(USAGE).join(', ')}`);
  }
}
