// Starting a daemon from code (the `dmsim/control` API): in this process — a ControlDaemon serving a
// DeviceMapper, for tests that want the socket protocol without a second process — or as a child process
// (`dmsim daemon`), for tests of restarts and kill -9. Both resolve once the socket accepts connections.

import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { IoError } from '../base/errors.js';
import { EventBus } from '../base/events.js';
import { DMSIM_VERSION } from '../base/version.js';
import { ControlClient } from './client.js';
import { ControlDaemon } from './daemon.js';

/** A daemon serving in this process. */
export interface InProcessDaemon {
  readonly socketPath: string;
  /** The engine it serves: what `dmsetup` verbs over the socket act on. */
  readonly dm: DeviceMapper;
  /** A new connection to it (close it when done). */
  connect(): Promise<ControlClient>;
  /** Closes every connection and device and removes the socket. */
  close(): Promise<void>;
}

/** Serves a new DeviceMapper (or `dm`) at socketPath in this process. */
export async function startDaemon(options: { socketPath: string; dm?: DeviceMapper }): Promise<InProcessDaemon> {
  const dm = options.dm ?? new DeviceMapper({ bus: new EventBus() });
  const daemon = new ControlDaemon({ engine: dm, bus: dm.bus, version: DMSIM_VERSION });
  await daemon.listen(options.socketPath);
  return {
    socketPath: options.socketPath,
    dm,
    connect: () => ControlClient.connect(options.socketPath),
    close: () => daemon.close(),
  };
}

export interface ChildDaemonOptions {
  socketPath: string;
  /** `--state FILE`: devices recorded there come back at start; every change is recorded. */
  statePath?: string;
  /** `--trace FILE`: every engine event as JSON lines. */
  trace?: string;
  /** The daemon's working directory (default: this process's). */
  cwd?: string;
  /** How long it may take to listen (default 60 s). */
  startTimeoutMs?: number;
}

/** A `dmsim daemon` child process. */
export interface ChildDaemon {
  readonly pid: number;
  readonly socketPath: string;
  /** Everything it printed on stderr so far (its log). */
  stderr(): string;
  /** Sends the signal (default SIGTERM: devices closed, socket removed) and resolves when it has exited. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** Starts `dmsim daemon` as a child process, resolved once it listens; rejects with its log if it cannot. */
export async function spawnDaemon(options: ChildDaemonOptions): Promise<ChildDaemon> {
  const args = ['daemon', '--socket', options.socketPath];
  if (options.statePath) args.push('--state', options.statePath);
  if (options.trace) args.push('--trace', options.trace);
  const child = spawn(process.execPath, [...cliEntry(), ...args], {
    cwd: options.cwd,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.on('data', (d: Buffer) => {
    log += d.toString();
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await untilListening(child, () => log, options.startTimeoutMs ?? 60_000);
  return {
    pid: child.pid!,
    socketPath: options.socketPath,
    stderr: () => log,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

function untilListening(child: ChildProcess, log: () => string, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onData = (): void => {
      if (!log().includes('listening on ')) return;
      done();
      resolve();
    };
    const onExit = (): void => {
      done();
      reject(new IoError(`the daemon exited before listening:\n${log()}`));
    };
    const timer = setTimeout(() => {
      done();
      child.kill('SIGKILL');
      reject(new IoError(`the daemon did not listen within ${timeoutMs / 1000} s:\n${log()}`));
    }, timeoutMs);
    const done = (): void => {
      clearTimeout(timer);
      child.stderr!.off('data', onData);
      child.off('exit', onExit);
    };
    child.stderr!.on('data', onData);
    child.once('exit', onExit);
  });
}

/**
 * How to run the `dmsim` command from here: the built CLI beside this file in a package, or its TypeScript
 * source through tsx in a checkout (the command is found by path: this room does not import the CLI).
 */
function cliEntry(): string[] {
  const built = fileURLToPath(new URL('../cli/main.js', import.meta.url));
  if (existsSync(built)) return [built];
  return ['--import', 'tsx', fileURLToPath(new URL('../cli/main.ts', import.meta.url))];
}
