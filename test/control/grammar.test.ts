// One grammar for both command lines: `dmsim VERB ...` (commander, src/cli) and the TUI's command line refuse the
// same bad words with the same message, and that message is what the verb's one definition says (its usage, the
// word parser's reason), computed here from the definition rather than copied.

import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseSizeBytes } from '../../src/base/size.js';
import { buildProgram } from '../../src/cli/program.js';
import { UsageError, usageOf } from '../../src/control/grammar/grammar.js';
import { grammarOf, parseVerb, type SharedVerb } from '../../src/control/grammar/verbs.js';
import { byteValue, regionSpec, wholeNumber } from '../../src/control/grammar/words.js';
import { checkVerbArgs } from '../../src/control/protocol.js';
import { parseCommand } from '../../tui/command/parse-command.js';

const root = resolve(import.meta.dirname, '../..');

/** The reason a word parser (or any check) gives. */
function reason(check: () => unknown): string {
  try {
    check();
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error('the check accepted the word');
}

/** The message the definition of `verb` gives for `why`. */
function refusal(verb: SharedVerb, why: string): string {
  return new UsageError(verb, why, usageOf(verb, grammarOf(verb))).message;
}

/** What `dmsim ...argv` refuses with, in process (the program main.ts runs). */
async function cliRefusal(argv: string[]): Promise<string> {
  try {
    await buildProgram()
      .exitOverride()
      .parseAsync(['node', 'dmsim', ...argv]);
  } catch (e) {
    return (e as Error).message;
  }
  throw new Error(`dmsim ${argv.join(' ')} was accepted`);
}

function tuiRefusal(argv: string[]): string {
  return reason(() => parseCommand(argv.join(' ')));
}

const CASES: Array<[string, string[], () => string]> = [
  [
    'a source region without a sector',
    ['copy', 'disk.img', 'copy.img:0'],
    () =>
      refusal(
        'copy',
        reason(() => regionSpec('source', 'disk.img')),
      ),
  ],
  [
    'a destination region with a bad count',
    ['copy', 'disk.img:0+8', 'copy.img:0+x'],
    () =>
      refusal(
        'copy',
        reason(() => regionSpec('destination', 'copy.img:0+x')),
      ),
  ],
  [
    'a source without a count',
    ['copy', 'disk.img:0', 'copy.img:0'],
    () => refusal('copy', "'disk.img:0': the source needs a count: DEV:SECTOR+COUNT"),
  ],
  [
    'a bad sector',
    ['read', 'lin', 'x', '2'],
    () =>
      refusal(
        'read',
        reason(() => wholeNumber('SECTOR', 'x')),
      ),
  ],
  [
    'a bad event number',
    ['wait', 'lin', '-1'],
    () =>
      refusal(
        'wait',
        reason(() => wholeNumber('EVENT_NR', '-1')),
      ),
  ],
  [
    'a bad byte',
    ['write', 'lin', '0', '8', '0x1ff'],
    () =>
      refusal(
        'write',
        reason(() => byteValue('BYTE', '0x1ff')),
      ),
  ],
  [
    'a bad size word',
    ['mkimg', 'disk.img', '12q'],
    () =>
      refusal(
        'mkimg',
        reason(() => parseSizeBytes('12q')),
      ),
  ],
  ['a missing NAME', ['flush'], () => refusal('flush', `missing ${grammarOf('flush').args[0]!.name}`)],
  ['a missing SECTOR', ['message', 'lin'], () => refusal('message', `missing ${grammarOf('message').args[1]!.name}`)],
  ['a word too many', ['wait', 'lin', '1', '2'], () => refusal('wait', "unexpected '2'")],
  [
    'a device name the protocol refuses',
    ['remove', 'a/b'],
    () =>
      refusal(
        'remove',
        reason(() => checkVerbArgs('remove', { name: 'a/b', force: false })),
      ),
  ],
];

describe('the CLI and the TUI refuse the same words with the same message', () => {
  for (const [what, argv, expected] of CASES) {
    it(`${what}: ${argv.join(' ')}`, async () => {
      const want = expected();
      expect(tuiRefusal(argv)).toBe(want);
      expect(await cliRefusal(argv)).toBe(want);
    });
  }

  it("an unknown option is commander's refusal on both sides, with the verb and its usage", async () => {
    const argv = ['status', '--colour'];
    const tui = tuiRefusal(argv);
    expect(tui).toBe(refusal('status', "unknown option '--colour'"));
    expect(await cliRefusal(argv)).toBe(tui);
  });

  it('wait --for: a condition it does not know, and EVENT_NR with it, the same on both sides', async () => {
    for (const argv of [
      ['wait', 'lin', '--for', 'nope'],
      ['wait', 'lin', '3', '--for', 'sync'],
      ['wait', 'lin', '--timeout', '1'],
    ]) {
      const tui = tuiRefusal(argv);
      expect(tui).toMatch(
        /^wait: (--for takes sync, merged, invalid, not 'nope'|give either EVENT_NR or --for, not both|--timeout goes with --for); usage: wait /,
      );
      expect(await cliRefusal(argv)).toBe(tui);
    }
  });

  it('the dmsim process prints the refusal as one line and exits 1', () => {
    const argv = ['copy', 'disk.img', 'copy.img:0'];
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...argv], {
      cwd: root,
      encoding: 'utf8',
    });
    expect({ status: r.status, stderr: r.stderr }).toEqual({ status: 1, stderr: `dmsim: ${tuiRefusal(argv)}\n` });
  });
});

describe('both sides accept the same words into the same value', () => {
  it('copy: positional regions and --from/--to give the same job', () => {
    const positional = parseVerb('copy', ['a.img:0+8', 'b.img:16', 'c.img:0+8']);
    const options = parseVerb('copy', ['--from', 'a.img:0+8', '--to', 'b.img:16', '--to', 'c.img:0+8']);
    expect(positional).toEqual(options);
    expect(parseCommand('copy a.img:0+8 b.img:16 c.img:0+8')).toEqual(positional);
    expect(positional.args).toMatchObject({ count: 8, source: { path: 'a.img', sector: 0, count: 8 } });
  });

  it('create: the words after NAME are the table, one word names a file', () => {
    expect(parseCommand('create z 0 8 zero; 8 8 error')).toEqual({
      verb: 'create',
      args: { args: { name: 'z', readOnly: false, notable: false }, table: { text: '0 8 zero\n8 8 error' } },
    });
    expect(parseVerb('create', ['z', 'table.txt', '-u', 'U'])).toEqual({
      verb: 'create',
      args: { args: { name: 'z', readOnly: false, notable: false, uuid: 'U' }, table: { file: 'table.txt' } },
    });
    expect(parseVerb('load', ['z'])).toEqual({ verb: 'load', args: { name: 'z', table: { stdin: true } } });
  });
});
