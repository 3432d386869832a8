// Table text -> table lines, as dmsetup reads a table (libdm's _parse_line: blank lines and `#` comments skipped,
// `sscanf("%llu %llu %s %n")` for start, length and target type) and as the kernel splits a target's
// parameters (dm-table.c: dm_split_args, backslash escapes). The checks (zero-length target, too large,
// unknown type, gaps) are made when the table is built (table.ts), line by line in the kernel's order.

import { InvalidArgumentError, OverflowError } from '../base/errors.js';

export interface TableSpecLine {
  /** 1-based line number in the text (comments and blank lines count), for error messages. */
  line: number;
  /** As strtoull read them (a '-' wraps); table.ts checks them in the kernel's order. */
  start: bigint;
  length: bigint;
  /** The target type word. */
  type: string;
  /** The parameter words after dm_split_args. */
  args: string[];
  /** The words of the whole line (start, length, type, args), to name the word an error is about. */
  words: string[];
}

/**
 * Most targets one table may have. The kernel counts a table's targets before it parses any (dm_table_create:
 * -EOVERFLOW past DM_MAX_TARGETS = 1048576). dmsim parses and builds a target in about 15 us without yielding
 * for the parse, and lists a table's status lines all at once, so it stops at 65536 (about half a second to
 * parse and build, a few MiB of status) and refuses more with the kernel's error before parsing.
 */
export const MAX_TABLE_TARGETS = 65536;

const U64 = 1n << 64n;
// start, length (glibc strtoull: optional sign, decimal, as greedy as sscanf), the type, then the parameters.
const LINE = /^\s*([+-]?\d+)(?!\d)\s*([+-]?\d+)(?!\d)\s*(\S+)(.*)$/s;

/** Parses table text; throws InvalidArgumentError naming the line for lines dmsetup cannot parse. */
export function parseTable(text: string): TableSpecLine[] {
  const out: TableSpecLine[] = [];
  const lines = text.split('\n');
  if (lines.length > MAX_TABLE_TARGETS) {
    const targets = lines.filter((l) => {
      const t = l.trimStart();
      return t !== '' && !t.startsWith('#');
    }).length;
    if (targets > MAX_TABLE_TARGETS) {
      throw new OverflowError(
        `the table has ${targets} targets; dmsim takes at most ${MAX_TABLE_TARGETS} per table (the kernel: 1048576)`,
      );
    }
  }
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!.replace(/\r$/, '');
    const trimmed = raw.trimStart();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const m = LINE.exec(raw);
    if (!m) {
      throw new InvalidArgumentError(
        `line ${i + 1}: invalid format: expected "<start> <length> <target type> [<arguments>...]", got "${trimmed}"`,
      );
    }
    const args = splitArgs(m[4]!);
    out.push({
      line: i + 1,
      start: strtoull(m[1]!),
      length: strtoull(m[2]!),
      type: m[3]!,
      args,
      words: [m[1]!, m[2]!, m[3]!, ...args],
    });
  }
  return out;
}

/** glibc strtoull for a decimal word with an optional sign: a '-' wraps modulo 2^64. */
function strtoull(word: string): bigint {
  const neg = word.startsWith('-');
  const v = BigInt(word.replace(/^[+-]/, ''));
  return neg && v !== 0n ? (U64 - (v % U64)) % U64 : v % U64;
}

/** dm_split_args: words separated by whitespace; a backslash makes the next character literal (a last one stays). */
export function splitArgs(params: string): string[] {
  const words: string[] = [];
  let cur = '';
  let inWord = false;
  for (let i = 0; i < params.length; i++) {
    const c = params[i]!;
    if (c === '\\' && i + 1 < params.length) {
      cur += params[++i]!;
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(cur);
      cur = '';
      inWord = false;
    } else {
      cur += c;
      inWord = true;
    }
  }
  if (inWord) words.push(cur);
  return words;
}
