// A private tmux server for end-to-end tests of the terminal UI: send keys, read the screen, wait for it.

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';
import { missingTools } from './prerequisites.js';

/** Why tmux cannot be run here, or null (for describeNeeding). */
export const tmuxMissing = missingTools('tmux');

/** Runs tmux against a server of this test process alone (-L), so tests never touch a user's sessions. */
function privateTmux(label: string): (...args: string[]) => string {
  const server = `${label}-${process.pid}`;
  return (...args) => execFileSync('tmux', ['-L', server, ...args], { encoding: 'utf8' });
}

/** Polls until probe returns a value; on timeout the error shows what the screen held. */
export async function until<T>(
  what: string,
  probe: () => T | undefined,
  show: () => string,
  timeoutMs = 20_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the screen was:\n${show()}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * For one describe block: a private tmux server and a scratch folder holding the child's TMPDIR and the file
 * its exit status is written to; both go away after the block.
 */
export function terminalWorkspace(label: string): {
  tmux: (...args: string[]) => string;
  childTmp: string;
  exitFile: string;
} {
  const tmux = privateTmux(label);
  const work = mkdtempSync(join(tmpdir(), `${label}-`));
  const childTmp = join(work, 'tmp');
  mkdirSync(childTmp);
  afterAll(() => {
    try {
      tmux('kill-server');
    } catch {
      // already gone
    }
    rmSync(work, { recursive: true, force: true });
  });
  return { tmux, childTmp, exitFile: join(work, 'exit-code') };
}
