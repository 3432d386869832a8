// `dmsim tui --scenario FILE` refuses, with one clear message, what it cannot play: a missing file, a file
// with a mistake (named by step and field, as the scenario format promises), and --scenario together with
// --demo or --attach. The lesson is checked before the terminal is: no TTY is needed to hear about it.
// (runTui in process, where stdin is not a TTY; the command line itself is driven in scenario-e2e.)

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isDmError } from '../../src/base/errors.js';
import { runTui } from '../../tui/run-tui.js';

const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'dmsim-tui-scenario-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function refusal(options: Parameters<typeof runTui>[0]): Promise<string> {
  try {
    await runTui(options);
  } catch (e) {
    expect(isDmError(e) && e.code).toBe('EINVAL');
    return (e as Error).message;
  }
  throw new Error('runTui did not refuse');
}

describe('dmsim tui --scenario refusals', () => {
  it('a missing file and a file with a bad step', async () => {
    const missing = join(dir, 'nope.json');
    expect(await refusal({ scenario: missing })).toBe(`cannot read the scenario ${missing}: no such file`);

    const bad = join(dir, 'bad.json');
    writeFileSync(
      bad,
      JSON.stringify({
        scenario: 1,
        title: 't',
        steps: [
          { do: 'image', name: 'd', size: '1M' },
          { do: 'write', image: 'd', sector: -1, count: 8, byte: 1 },
        ],
      }),
    );
    expect(await refusal({ scenario: bad })).toMatch(
      /bad\.json: step 2 \(write\): field "sector" must be a whole number >= 0, got -1$/,
    );
  });

  it('a valid lesson still needs a terminal; --demo and --attach do not combine with it', async () => {
    const lesson = join(root, 'fixtures/lessons/01-kcopyd-basics.json');
    expect(process.stdin.isTTY && process.stdout.isTTY).toBeFalsy();
    expect(await refusal({ scenario: lesson })).toBe('dmsim tui needs a terminal (stdin and stdout must be a TTY)');
    const both = '--scenario plays a lesson on its own embedded engine; it cannot be combined with --demo or --attach';
    expect(await refusal({ scenario: lesson, demo: true })).toBe(both);
    expect(await refusal({ scenario: lesson, attach: true })).toBe(both);
  });
});
