// Runs the real `dmsim` command in tests: builds the sources once with tsc into .cache/ in the checkout (so the
// compiled files still find node_modules, and dist/ is left alone), then each command is a plain `node`
// start (~0.1 s instead of ~0.4 s through tsx). Commands run under bash with `dmsim` on PATH.

import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { untilListening } from '../support/daemon-process.js';

export const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const OUT_DIR = join(REPO, '.cache', 'dmsim-e2e');
export const CLI_MAIN = join(OUT_DIR, 'src', 'cli', 'main.js');

/** Compiles the project for the e2e run. Type errors elsewhere do not stop tsc from emitting. */
export function buildCli(): string {
  const tsc = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(
    process.execPath,
    [tsc, '-p', join(REPO, 'tsconfig.json'), '--outDir', OUT_DIR, '--declaration', 'false', '--sourceMap', 'false'],
    {
      encoding: 'utf8',
    },
  );
  if (!existsSync(CLI_MAIN)) throw new Error(`tsc did not produce ${CLI_MAIN}:\n${r.stdout}${r.stderr}`);
  return CLI_MAIN;
}

/** A bin directory holding a `dmsim` that runs the compiled CLI. */
export async function makeBinDir(dir: string): Promise<string> {
  const bin = join(dir, 'bin');
  await mkdir(bin, { recursive: true });
  const shim = join(bin, 'dmsim');
  await writeFile(shim, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(CLI_MAIN)} "$@"\n`);
  await chmod(shim, 0o755);
  return bin;
}

export interface RunResult {
  stdout: string;
  stderr: string;
  exit: number;
}

/** A command still running after this long is hung (a read on a device left suspended, say): kill it. */
const COMMAND_TIMEOUT_MS = 60_000;

/** Runs one shell command line (bash), with stdin closed unless the command redirects it. */
export function runShell(command: string, options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<RunResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', ['-c', command], {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: COMMAND_TIMEOUT_MS,
      killSignal: 'SIGKILL',
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.once('error', reject);
    child.once('close', (code, signal) =>
      resolvePromise({
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        exit: code ?? (signal ? 128 : 1),
      }),
    );
  });
}

export interface DaemonHandle {
  /** Sends SIGTERM (or the given signal) and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
  stderr(): string;
}

// The daemon runs under a bash guard that reads a signal name from its stdin: when the test process dies
// (timeout, Ctrl-C), stdin closes and the guard stops the daemon, so no daemon outlives its test run.
const GUARD = '"$@" & d=$!; read -r sig || sig=TERM; kill -s "$sig" "$d" 2>/dev/null; wait "$d"';

/** Starts `dmsim daemon --socket PATH` in the foreground of a child process; resolves once it listens. */
export async function startDaemon(
  socketPath: string,
  env: NodeJS.ProcessEnv = process.env,
  extraArgs: string[] = [],
): Promise<DaemonHandle> {
  const child = spawn(
    'bash',
    ['-c', GUARD, 'guard', process.execPath, CLI_MAIN, 'daemon', '--socket', socketPath, ...extraArgs],
    {
      env,
      stdio: ['pipe', 'ignore', 'pipe'],
    },
  );
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let gone = false;
  void exited.then(() => (gone = true));
  const stderr = await untilListening(child);
  return {
    stderr,
    stop: async (signal = 'SIGTERM') => {
      if (!gone) child.stdin.end(`${signal.replace(/^SIG/, '')}\n`);
      return exited;
    },
  };
}
