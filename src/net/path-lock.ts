// PathLock: a lock on a filesystem path held for as long as the process lives, what flock(2) on a lock file
// beside the path would give (Node has no flock). The lock is a listening Unix socket in Linux's abstract
// namespace (unix(7): a name starting with NUL, no file) named after the user and the path: bind(2) fails with
// EADDRINUSE while any process holds it, and the kernel drops it the moment the holder exits, kill -9
// included, so there is never a stale lock to detect or break. (A PID file needs a liveness check that races
// with PID reuse and with two starters breaking the same stale file at once.) The holder answers a connection
// with one JSON line, its pid and state, so whoever finds the lock taken can say who has it. Linux only; a
// process of another user could take the same name first, which only stops the daemon from starting.

import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { basename, dirname, resolve } from 'node:path';

/** What the holder of a lock answers. */
export interface LockHolder {
  pid: number;
  /** What the holder says it is doing (the daemon: starting, running, stopping). */
  state: string;
}

export class PathLock {
  private constructor(private readonly server: Server) {}

  /**
   * Takes the lock on path, or returns who holds it (null when the holder does not say: it is busy, or is not
   * a dmsim process). `state` is asked each time someone wants to know.
   */
  static async tryAcquire(path: string, state: () => string): Promise<PathLock | { holder: LockHolder | null }> {
    const name = await lockName(path);
    const server = createServer((c) => {
      c.on('error', () => c.destroy());
      c.end(`${JSON.stringify({ pid: process.pid, state: state() })}\n`);
    });
    const bound = await new Promise<boolean>((done, fail) => {
      server.once('error', (e: NodeJS.ErrnoException) => (e.code === 'EADDRINUSE' ? done(false) : fail(e)));
      server.listen(name, () => done(true));
    });
    if (bound) return new PathLock(server);
    return { holder: await askHolder(name) };
  }

  /** Lets go of the lock (exiting does too). Until then the lock keeps the process alive, as a server does. */
  release(): Promise<void> {
    return new Promise((done) => this.server.close(() => done()));
  }
}

/** The abstract socket name for path: the user, and a hash of the path with its directory's symlinks resolved. */
async function lockName(path: string): Promise<string> {
  const dir = await fsp.realpath(dirname(resolve(path))).catch(() => dirname(resolve(path)));
  const key = createHash('sha256')
    .update(`${dir}/${basename(path)}`)
    .digest('hex')
    .slice(0, 40);
  return `\0dmsim-lock/${process.getuid?.() ?? 0}/${key}`;
}

/** How long to wait for the holder to say who it is. */
const ASK_TIMEOUT_MS = 2000;

function askHolder(name: string): Promise<LockHolder | null> {
  return new Promise((done) => {
    const c = connect(name);
    let text = '';
    const finish = (): void => {
      clearTimeout(timer);
      c.destroy();
      try {
        const msg = JSON.parse(text) as Partial<LockHolder>;
        done(typeof msg.pid === 'number' && typeof msg.state === 'string' ? { pid: msg.pid, state: msg.state } : null);
      } catch {
        done(null);
      }
    };
    const timer = setTimeout(finish, ASK_TIMEOUT_MS);
    c.on('data', (d: Buffer) => {
      text += d.toString();
      if (text.length > 4096) finish();
    });
    c.on('end', finish);
    c.on('error', finish);
  });
}
