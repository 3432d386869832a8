// The daemon as a process: runs a ControlDaemon in the foreground until SIGTERM/SIGINT, or starts one in
// the background (--detach) and returns once its socket accepts connections. With a state file it first
// activates the recorded devices (activation.ts) and records every change after (recording-engine.ts).

import { spawn } from 'node:child_process';
import { resolve as resolvePath } from 'node:path';
import { BusyError, IoError } from '../base/errors.js';
import { EventBus } from '../base/events.js';
import { openTraceFile } from '../dm/trace-file.js';
import { PathLock } from '../net/path-lock.js';
import { socketAnswers } from '../net/unix-socket.js';
import { activate } from './activation.js';
import { ControlDaemon } from './daemon.js';
import type { ControlEngine } from './engine.js';
import { RecordingEngine } from './recording-engine.js';
import { checkStateDirectory, readStateFile, removeStaleTempFiles } from './state-file.js';

export interface DaemonProcessOptions {
  socketPath: string;
  trace?: string;
  /** The state file (--state): devices recorded there are activated at start, and every change is recorded. */
  statePath?: string;
  version: string;
  /** Builds the engine the daemon holds (a DeviceMapper on this bus). */
  makeEngine(bus: EventBus): ControlEngine;
  log(line: string): void;
}

/**
 * Serves until SIGTERM or SIGINT, then closes every device and removes the socket. The daemon holds the lock
 * of its socket path from before it touches a device until it has closed them all, so a daemon started while
 * another is still shutting down waits for it instead of opening the same images twice.
 */
export async function runDaemon(options: DaemonProcessOptions): Promise<void> {
  let phase = 'starting';
  // The lock also keeps the process alive while the devices close (targets' timers do not).
  const lock = await lockSocketPath(options.socketPath, () => phase, options.log);
  try {
    await serve(options, (p) => (phase = p));
  } finally {
    await lock.release();
  }
  options.log('stopped');
}

async function serve(options: DaemonProcessOptions, setPhase: (phase: string) => void): Promise<void> {
  // A state file that cannot be read or parsed stops us here, before any device is touched.
  const state = options.statePath ? await readStateFile(options.statePath) : null;
  if (options.statePath) {
    await checkStateDirectory(options.statePath);
    for (const temp of await removeStaleTempFiles(options.statePath))
      options.log(`removed ${temp}, left by a daemon killed while writing the state file`);
  }
  if (await socketAnswers(options.socketPath))
    throw new BusyError(`a daemon is already running at ${options.socketPath}`);
  const bus = new EventBus();
  const trace = options.trace ? openTraceFile(bus, options.trace) : null;
  let engine = options.makeEngine(bus);
  if (options.statePath) {
    const results = await activate(engine, state?.devices ?? []);
    const failed = results.filter((r) => !r.ok);
    for (const r of failed) options.log(`${r.name}: not activated: ${r.reason} (kept in ${options.statePath})`);
    if (results.length > 0)
      options.log(
        `activated ${results.length - failed.length} of ${results.length} device(s) from ${options.statePath}`,
      );
    const recording = new RecordingEngine(
      engine,
      options.statePath,
      state?.devices ?? [],
      failed.map((r) => r.name),
    );
    await recording.record();
    engine = recording;
  }
  const daemon = new ControlDaemon({ engine, bus, version: options.version });
  await daemon.listen(options.socketPath);
  // A bug in one request's path must not take every device down with it: log it and carry on.
  process.on('uncaughtException', (e) => options.log(`internal error (daemon continues): ${e.stack ?? e.message}`));
  process.on('unhandledRejection', (e) =>
    options.log(`internal error (daemon continues): ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`),
  );
  options.log(`listening on ${options.socketPath} (pid ${process.pid})`);
  setPhase('running');
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  setPhase('stopping');
  await daemon.close();
  await trace?.close();
}

/** How long a starting daemon waits for one still shutting down at the same path. */
const SHUTDOWN_WAIT_MS = 60_000;

/** Takes the socket path's lock, waiting while its holder is shutting down; refuses a running or starting one. */
async function lockSocketPath(socketPath: string, phase: () => string, log: (line: string) => void): Promise<PathLock> {
  const deadline = Date.now() + SHUTDOWN_WAIT_MS;
  for (let told = false; ; ) {
    const got = await PathLock.tryAcquire(socketPath, phase);
    if (got instanceof PathLock) return got;
    const who = got.holder ? `the daemon (pid ${got.holder.pid})` : 'another process';
    if (got.holder?.state !== 'stopping' || Date.now() > deadline) {
      const doing =
        got.holder?.state === 'stopping'
          ? `has been shutting down for ${SHUTDOWN_WAIT_MS / 1000} s`
          : `is ${got.holder?.state ?? 'holding its lock'}`;
      throw new BusyError(`a daemon is already running at ${socketPath}: ${who} ${doing}`);
    }
    if (!told) log(`waiting for ${who} still shutting down at ${socketPath}`);
    told = true;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** How long --detach waits for the background daemon's socket before giving up. */
const DETACH_TIMEOUT_MS = 15_000;

/**
 * Starts `dmsim daemon` again in the background with the same node flags and returns its PID once the socket
 * answers. Refuses at once when a daemon already answers there.
 */
export async function detachDaemon(
  socketPath: string,
  trace: string | undefined,
  statePath?: string,
  force?: boolean,
): Promise<number> {
  if (await socketAnswers(socketPath)) throw new BusyError(`a daemon is already running at ${socketPath}`);
  const script = process.argv[1];
  if (script === undefined) throw new IoError('cannot tell which script to start in the background');
  const args = [...process.execArgv, script, 'daemon', '--socket', resolvePath(socketPath)];
  if (trace) args.push('--trace', resolvePath(trace));
  if (statePath) args.push('--state', resolvePath(statePath));
  if (force) args.push('--force');
  const child = spawn(process.execPath, args, { detached: true, stdio: 'ignore' });
  const pid = child.pid;
  if (pid === undefined) throw new IoError('could not start the daemon process');
  let exited: string | null = null;
  child.once('exit', (code, signal) => (exited = signal ? `signal ${signal}` : `status ${code}`));
  const deadline = Date.now() + DETACH_TIMEOUT_MS;
  for (;;) {
    if (exited)
      throw new IoError(
        `the daemon exited with ${exited} before accepting connections (run it without --detach to see why)`,
      );
    if (await socketAnswers(socketPath)) break;
    if (Date.now() > deadline) {
      child.kill('SIGTERM');
      throw new IoError(`the daemon did not accept connections at ${socketPath} within ${DETACH_TIMEOUT_MS / 1000} s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  child.unref();
  return pid;
}
