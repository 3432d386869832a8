// The real `dmsim daemon` process, started from the sources (through tsx) for tests that kill, restart or
// attack it. Resolves once the daemon says it is listening (its "listening on" line on stderr), which with
// --state is after the recorded devices are activated.

import { type ChildProcess, spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CLI = join(REPO, 'src/cli/main.ts');
/** tsx's loader by its full address, so the CLI also starts from a directory outside the repository. */
const TSX = pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;

/** How long a daemon may take to start (tsx compiles the sources first; slow on a loaded machine). */
const START_BOUND_MS = 60_000;

export interface DaemonHandle {
  readonly pid: number;
  /** Everything the daemon printed on stderr so far. */
  stderr(): string;
  /** Sends the signal and waits for the process to be gone. */
  kill(signal: NodeJS.Signals): Promise<void>;
  /** Whether the process is still running. */
  alive(): boolean;
}

/** Runs `dmsim ARGS...` to completion (in the repository, or `cwd`; `signal` kills it): its status and stderr. */
export function runCli(
  args: string[],
  cwd = REPO,
  signal?: AbortSignal,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['--import', TSX, CLI, ...args], {
    cwd,
    ...(signal ? { signal, killSignal: 'SIGKILL' as const } : {}),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.on('error', () => {}); // the abort's AbortError: 'close' follows with the kill
  return new Promise((r) => child.once('close', (status) => r({ status, stdout, stderr })));
}

/**
 * Resolves once a starting daemon prints its "listening on" line on stderr (everything it printed so far is
 * given by the returned function); rejects with its stderr if it exits first or does not listen in time.
 */
export async function untilListening(child: ChildProcess): Promise<() => string> {
  let stderr = '';
  let bound: ReturnType<typeof setTimeout> | undefined;
  try {
    await new Promise<void>((listening, failed) => {
      child.stderr!.on('data', (d: Buffer) => {
        stderr += d.toString();
        if (stderr.includes('listening on ')) listening();
      });
      child.once('exit', () => failed(new Error(`the daemon exited before listening:\n${stderr}`)));
      bound = setTimeout(() => {
        child.kill('SIGKILL');
        failed(new Error(`the daemon did not listen within ${START_BOUND_MS / 1000} s:\n${stderr}`));
      }, START_BOUND_MS);
    });
  } finally {
    clearTimeout(bound);
  }
  return () => stderr;
}

/** `dmsim daemon --socket SOCKET EXTRA...` (in the repository, or `cwd`), resolved once it listens. */
export async function startDaemon(socket: string, extra: string[] = [], cwd = REPO): Promise<DaemonHandle> {
  const child: ChildProcess = spawn(process.execPath, ['--import', TSX, CLI, 'daemon', '--socket', socket, ...extra], {
    cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let gone = false;
  const exited = new Promise<void>((r) =>
    child.once('exit', () => {
      gone = true;
      r();
    }),
  );
  const stderr = await untilListening(child);
  return {
    pid: child.pid!,
    stderr,
    alive: () => !gone,
    kill: async (signal) => {
      if (!gone) child.kill(signal);
      await exited;
    },
  };
}

/** The resident set of a running process, in bytes (VmRSS in /proc/PID/status). */
export async function rssBytes(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kb = /^VmRSS:\s+(\d+) kB/m.exec(status);
  if (!kb) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(kb[1]) * 1024;
}
