// `dmsim tui --scenario FILE` refuses, with one clear line and status 1, what it cannot play: a missing file,
// a file with a mistake (named by step and field, as the scenario format promises), and --scenario together
// with --demo or --attach. The lesson is checked before the terminal is: no TTY is needed to hear about it.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');
const dir = mkdtempSync(join(tmpdir(), 'dmsim-tui-scenario-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function dmsim(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: root, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  return { status: r.status, stderr: r.stderr };
}

describe('dmsim tui --scenario refusals', () => {
  it('a missing file and a file with a bad step', () => {
    const missing = dmsim('tui', '--scenario', join(dir, 'nope.json'));
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(`dmsim: cannot read the scenario ${join(dir, 'nope.json')}: no such file\n`);

    const bad = join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ scenario: 1, title: 't', steps: [{ do: 'image', name: 'd', size: '1M' }, { do: 'write', image: 'd', sector: -1, count: 8, byte: 1 }] }));
    const r = dmsim('tui', '--scenario', bad);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^dmsim: .*bad\.json: step 2 \(write\): field "sector" must be a whole number >= 0, got -1\n$/);
  });

  it('a valid lesson still needs a terminal; --demo and --attach do not combine with it', () => {
    const lesson = 'fixtures/lessons/01-kcopyd-basics.json';
    expect(dmsim('tui', '--scenario', lesson).stderr).toBe('dmsim: dmsim tui needs a terminal (stdin and stdout must be a TTY)\n');
    const refusal = 'dmsim: --scenario plays a lesson on its own embedded engine; it cannot be combined with --demo or --attach\n';
    expect(dmsim('tui', '--scenario', lesson, '--demo').stderr).toBe(refusal);
    expect(dmsim('tui', '--scenario', lesson, '--attach').stderr).toBe(refusal);
  });
});
