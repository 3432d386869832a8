// A verb's grammar: its positional words, its options and how they become a typed value (a protocol request's
// args, or a local job), defined once and parsed by the same code for `dmsim VERB ...` and the TUI's command
// line. Both split the words with commander (the CLI's own command objects; the TUI builds the same command
// for each line), then bindWords checks the words and builds the value. So a bad sector, a bad region spec or a
// missing NAME is refused with the same message on both sides: "VERB: why; usage: VERB ...".
// dmsetup's twin: its per-command usage table and _process_switches (lvm2 libdm/dm-tools/dmsetup.c).

import { Command, type CommanderError } from 'commander';
import { InvalidArgumentError } from '../../base/errors.js';
import { checkVerbArgs, type Verb } from '../protocol.js';

/** One positional word (NAME, SECTOR ...), or with `variadic` every remaining word. */
interface ArgDef {
  name: string;
  optional?: boolean;
  variadic?: boolean;
  description?: string;
}

/** One option, in commander's flag syntax ('-f, --force', '--listen <address>'). */
interface OptionDef {
  flags: string;
  description: string;
  /** May be given more than once; its values are collected in order. */
  repeat?: boolean;
  /** false: left out of the one-line usage (which then ends in [options]); --help lists it. */
  inUsage?: boolean;
}

/** The words of one command, as the grammar's build() reads them. */
export interface Words {
  /** The word of a positional (present when the positional is not optional: bindWords checked). */
  arg(name: string): string | undefined;
  /** The words of a variadic positional. */
  rest(name: string): string[];
  /** A boolean option, by its attribute name (commander's camelCase of the long flag: --read-only -> readOnly). */
  flag(key: string): boolean;
  value(key: string): string | undefined;
  values(key: string): string[];
}

export interface VerbGrammar<A> {
  /** One line for `--help` and the help panel. */
  summary: string;
  aliases?: readonly string[];
  args: readonly ArgDef[];
  options?: readonly OptionDef[];
  /** Said after the usage (what a word means). */
  note?: string;
  /** The protocol verb whose request args build() returns: they are checked as the daemon checks them. */
  request?: Verb;
  /** Value keys that are the command's own, not the request's (status --explain), left out of that check. */
  localKeys?: readonly string[];
  /** Reads the words into the command's value; throws InvalidArgumentError with the reason. */
  build(words: Words): A;
}

/** A command line the grammar refuses: names the verb and shows its usage. */
export class UsageError extends InvalidArgumentError {
  constructor(
    readonly verb: string,
    readonly why: string,
    usage: string,
    /** The builder's own refusal it wraps (a personality may print that one its own way). */
    readonly refused?: InvalidArgumentError,
  ) {
    super(`${verb}: ${why}; usage: ${usage}`);
  }
}

function optionUsage(o: OptionDef): string {
  const flags = o.flags.split(/[ ,|]+/).filter((f) => f.startsWith('-'));
  const value = /<([^>]+)>/.exec(o.flags)?.[1];
  const shown = `[${flags[0]}${value !== undefined ? ` ${value.toUpperCase()}` : ''}]`;
  return o.repeat ? `${shown}...` : shown;
}

function argUsage(a: ArgDef): string {
  const word = `${a.name}${a.variadic ? '...' : ''}`;
  return a.optional ? `[${word}]` : word;
}

/** The words after the verb: "NAME [EVENT_NR]". */
function usageWords(g: VerbGrammar<unknown>): string[] {
  const options = g.options ?? [];
  const shown = options.filter((o) => o.inUsage !== false).map(optionUsage);
  const more = shown.length < options.length ? ['[options]'] : [];
  return [...g.args.map(argUsage), ...shown, ...more];
}

/** "wait NAME [EVENT_NR]", with the grammar's note after it. */
export function usageOf(word: string, g: VerbGrammar<unknown>): string {
  const words = [word, ...usageWords(g)].join(' ');
  return g.note !== undefined ? `${words}   (${g.note})` : words;
}

/**
 * The commander command for a verb. Its positionals are all declared optional and excess words are let
 * through, so that missing and extra words reach bindWords (one message for both sides); commander's own
 * refusals (an unknown option, an option without its value) become UsageErrors too.
 */
export function verbCommand(word: string, g: VerbGrammar<unknown>): Command {
  const usage = usageOf(word, g);
  const cmd = new Command(word)
    .description(g.summary)
    .usage(usageWords(g).join(' '))
    .allowExcessArguments(true)
    .configureOutput({ outputError: () => undefined })
    .exitOverride((e: CommanderError) => {
      if (e.exitCode === 0) throw e; // --help, --version: not a refusal
      throw new UsageError(word, e.message.replace(/^error: /, ''), usage);
    });
  if (g.note !== undefined) cmd.addHelpText('after', `\n${g.note}`);
  for (const a of g.aliases ?? []) cmd.alias(a);
  for (const a of g.args) cmd.argument(`[${a.name.toLowerCase()}${a.variadic ? '...' : ''}]`, a.description);
  for (const o of g.options ?? []) {
    if (o.repeat) cmd.option(o.flags, o.description, (v: string, all: string[] | undefined) => [...(all ?? []), v]);
    else cmd.option(o.flags, o.description);
  }
  return cmd;
}

/** Checks the words against the grammar and builds the command's value. */
export function bindWords<A>(word: string, g: VerbGrammar<A>, operands: readonly string[], options: object): A {
  const usage = usageOf(word, g);
  const refuse = (why: string, refused?: InvalidArgumentError): UsageError => new UsageError(word, why, usage, refused);
  const byName = new Map<string, string | string[]>();
  let i = 0;
  for (const a of g.args) {
    if (a.variadic) {
      const rest = operands.slice(i);
      i = operands.length;
      if (rest.length === 0 && !a.optional) throw refuse(`missing ${a.name}`);
      byName.set(a.name, rest);
      continue;
    }
    const w = operands[i];
    if (w === undefined) {
      if (!a.optional) throw refuse(`missing ${a.name}`);
      continue;
    }
    byName.set(a.name, w);
    i++;
  }
  if (i < operands.length) throw refuse(`unexpected '${operands[i]}'`);
  const opts = options as Record<string, unknown>;
  const words: Words = {
    arg: (name) => {
      const v = byName.get(name);
      return typeof v === 'string' ? v : undefined;
    },
    rest: (name) => {
      const v = byName.get(name);
      return Array.isArray(v) ? v : [];
    },
    flag: (key) => opts[key] === true,
    value: (key) => (typeof opts[key] === 'string' ? opts[key] : undefined),
    values: (key) => (Array.isArray(opts[key]) ? (opts[key] as string[]) : []),
  };
  try {
    const value = g.build(words);
    if (g.request !== undefined) {
      const args = Object.entries(value as Record<string, unknown>).filter(([k]) => !g.localKeys?.includes(k));
      checkVerbArgs(g.request, Object.fromEntries(args));
    }
    return value;
  } catch (e) {
    if (e instanceof InvalidArgumentError && !(e instanceof UsageError)) throw refuse(e.message, e);
    throw e;
  }
}

/** Splits the words with the verb's commander command (as `dmsim VERB` would) and binds them. */
export function parseWords<A>(word: string, g: VerbGrammar<A>, argv: readonly string[]): A {
  const cmd = verbCommand(word, g).helpOption(false);
  cmd.parse([...argv], { from: 'user' });
  return bindWords(word, g, cmd.args, cmd.opts());
}
