// The UI's command line: the verbs it shares with `dmsim` (create, load, status, write, copy ...) parsed by their
// one grammar (src/control/grammar), so a line is refused exactly as the same words after `dmsim` are; plus
// the UI's own verbs (fail/heal shortcuts, pause/unpause/step, show, help, quit) in the same grammar form.
// Parsing is separate from running so a bad line is refused with its usage before anything happens.

import { InvalidArgumentError } from '../../src/base/errors.js';
import { parseWords, usageOf, type VerbGrammar } from '../../src/control/grammar/grammar.js';
import { parseVerb, sharedVerb, VERB_GRAMMAR, type VerbCommand } from '../../src/control/grammar/verbs.js';
import { wholeNumber } from '../../src/control/grammar/words.js';

const nothing = { args: [], build: () => ({}) } as const;

const TUI_GRAMMAR = {
  fail: {
    summary: 'swap an error table under NAME',
    args: [{ name: 'NAME' }],
    note: 'swap an error table under NAME',
    build: (w): { name: string } => ({ name: w.arg('NAME')! }),
  } satisfies VerbGrammar<unknown>,
  heal: {
    summary: 'restore the table fail replaced',
    args: [{ name: 'NAME' }],
    note: 'restore the table fail replaced',
    build: (w): { name: string } => ({ name: w.arg('NAME')! }),
  } satisfies VerbGrammar<unknown>,
  pause: { summary: 'pause kcopyd', ...nothing } satisfies VerbGrammar<unknown>,
  unpause: { summary: 'let kcopyd run again', ...nothing } satisfies VerbGrammar<unknown>,
  step: { summary: 'run one kcopyd worker pass while paused', ...nothing } satisfies VerbGrammar<unknown>,
  help: {
    summary: 'every command, or the usage of one',
    args: [{ name: 'VERB', optional: true }],
    build: (w): { topic?: string } => {
      const topic = w.arg('VERB');
      if (topic !== undefined && USAGE[topic] === undefined) throw new InvalidArgumentError(`no command '${topic}'`);
      return topic !== undefined ? { topic } : {};
    },
  } satisfies VerbGrammar<unknown>,
  show: {
    summary: 'open event N of the events list to read its whole text (any key closes it)',
    args: [{ name: 'N', description: 'the number in front of the event' }],
    build: (w): { n: number } => ({ n: wholeNumber('N', w.arg('N')!) }),
  } satisfies VerbGrammar<unknown>,
  quit: { summary: 'quit', ...nothing } satisfies VerbGrammar<unknown>,
};

type TuiVerb = keyof typeof TUI_GRAMMAR;

export type TuiCommand =
  | VerbCommand
  | { [W in TuiVerb]: { verb: W; args: ReturnType<(typeof TUI_GRAMMAR)[W]['build']> } }[TuiVerb];

/** Every command word's usage, the shared verbs first (help and the help panel show these). */
export const USAGE: Record<string, string> = Object.fromEntries(
  [...Object.entries(VERB_GRAMMAR), ...Object.entries(TUI_GRAMMAR)].map(([word, g]) => [
    word,
    usageOf(word, g as VerbGrammar<unknown>),
  ]),
);

function isTuiVerb(word: string): word is TuiVerb {
  return Object.hasOwn(TUI_GRAMMAR, word);
}

/** Parses one command line. An empty line is refused too (the caller ignores blank input first). */
export function parseCommand(line: string): TuiCommand {
  const [word, ...argv] = line
    .trim()
    .split(/\s+/)
    .filter((w) => w !== '');
  if (word === undefined) throw new InvalidArgumentError('empty command; type help for the list');
  const shared = sharedVerb(word);
  if (shared !== undefined) return parseVerb(shared, argv);
  if (isTuiVerb(word)) {
    return { verb: word, args: parseWords(word, TUI_GRAMMAR[word] as VerbGrammar<unknown>, argv) } as TuiCommand;
  }
  throw new InvalidArgumentError(`unknown command '${word}'; commands: ${Object.keys(USAGE).join(', ')}`);
}
