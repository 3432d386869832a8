// `dmsim tui` refuses what it cannot do with one clear line and status 1, before touching anything.

import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '../..');

function dmsim(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
    cwd: root,
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return { status: r.status, stderr: r.stderr, stdout: r.stdout };
}

describe('dmsim tui refusals', () => {
  it('needs a terminal', () => {
    const r = dmsim('tui');
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('dmsim: dmsim tui needs a terminal (stdin and stdout must be a TTY)\n');
  });

  it('refuses --demo with --attach, and a bad --fps or --pace', () => {
    expect(dmsim('tui', '--demo', '--attach').stderr).toBe(
      'dmsim: --demo builds its own devices; it cannot be combined with --attach\n',
    );
    expect(dmsim('tui', '--fps', '0').stderr).toBe("dmsim: --fps must be a positive number, not '0'\n");
    expect(dmsim('tui', '--fps', '100').stderr).toBe('dmsim: --fps must be 1..60, not 100\n');
    expect(dmsim('tui', '--pace', 'fast').stderr).toBe("dmsim: --pace must be a positive number, not 'fast'\n");
  });
});
