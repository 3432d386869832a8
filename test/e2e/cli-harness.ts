// Runs the real `dmsim` command in tests: builds the sources once with tsc into .cache/ in the checkout (so the
// compiled files still find node_modules, and dist/ is left alone), once per source tree and not per test file, then each command is a plain `node`
// start (~0.1 s instead of ~0.4 s through tsx). Commands run under bash with `dmsim` on PATH.

import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { untilListening } from '../support/daemon-process.js';

export const REPO = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const CACHE = join(REPO, '.cache', 'dmsim-e2e');
const TSC = join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');

/** Every file tsc compiles (tsconfig.json includes src, targets and tui), in a stable order. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .sort((a, b) => (a.name < b.name ? -1 : 1))
    .flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : [join(dir, e.name)]));
}

/** Names a build by what it is compiled from, so an unchanged tree is compiled once, whatever the test files. */
function sourceHash(): string {
  const h = createHash('sha256');
  const files = [
    join(REPO, 'tsconfig.json'),
    join(REPO, 'node_modules', 'typescript', 'package.json'),
    ...['src', 'targets', 'tui'].flatMap((d) => sourceFiles(join(REPO, d))),
  ];
  for (const f of files)
    h.update(`${relative(REPO, f)}\0`)
      .update(readFileSync(f))
      .update('\0');
  return h.digest('hex').slice(0, 16);
}

const BUILD = join(CACHE, sourceHash());
export const CLI_MAIN = join(BUILD, 'src', 'cli', 'main.js');
/** Written last into a finished build: a build without it was cut short. */
const DONE = join(BUILD, '.complete');

/**
 * A hook that may compile has this long: a full tsc run took 79 s on the 2-core CI machine under load 20, and
 * the other e2e files of the run wait for that same compile rather than starting their own.
 */
export const BUILD_TIMEOUT_MS = 300_000;

/** Whether a process with this id still runs (the holder of a build lock left by a killed run does not). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Compiles the project for the e2e run into .cache/dmsim-e2e/<hash of the sources>/ unless that build exists.
 * The e2e files run in parallel workers: the first takes a lock (a directory holding its pid) and compiles,
 * the others wait for the lock to go. Type errors elsewhere do not stop tsc from emitting; the type check is
 * `npm test`'s own first step.
 */
export async function buildCli(): Promise<void> {
  const lock = `${BUILD}.lock`;
  await mkdir(CACHE, { recursive: true });
  while (!existsSync(DONE)) {
    try {
      await mkdir(lock);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const holder = Number(await readFile(join(lock, 'pid'), 'utf8').catch(() => '0'));
      // A lock without a pid yet is being taken; one whose process is gone is left over from a killed run.
      if (holder > 0 && !alive(holder)) await rm(lock, { recursive: true, force: true });
      else await new Promise((r) => setTimeout(r, 250));
      continue;
    }
    try {
      await writeFile(join(lock, 'pid'), String(process.pid));
      if (!existsSync(DONE)) await compile();
    } finally {
      await rm(lock, { recursive: true, force: true });
    }
  }
}

/** One tsc run into a scratch directory, moved into place whole; builds of older trees left for an hour (a run
 * still going in this checkout may be using one) are removed. */
async function compile(): Promise<void> {
  const scratch = `${BUILD}.tmp`;
  await rm(scratch, { recursive: true, force: true });
  const args = [
    TSC,
    '-p',
    join(REPO, 'tsconfig.json'),
    '--outDir',
    scratch,
    '--declaration',
    'false',
    '--sourceMap',
    'false',
  ];
  const output = await new Promise<string>((done, fail) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => out.push(d));
    child.once('error', fail);
    child.once('close', () => done(Buffer.concat(out).toString('utf8')));
  });
  const main = join(scratch, relative(BUILD, CLI_MAIN));
  if (!existsSync(main)) throw new Error(`tsc did not produce ${main}:\n${output}`);
  await writeFile(join(scratch, '.complete'), '');
  await rm(BUILD, { recursive: true, force: true });
  await rename(scratch, BUILD);
  for (const name of await readdir(CACHE)) {
    const old = join(CACHE, name);
    if (old !== BUILD && /^[0-9a-f]{16}$/.test(name) && (await stat(old)).mtimeMs < Date.now() - 3_600_000)
      await rm(old, { recursive: true, force: true });
  }
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
