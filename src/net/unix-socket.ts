// Unix socket files shared by the control daemon and the NBD server: whether something answers at a path,
// and clearing a socket file left by a process that died before it could remove it.

import { promises as fsp } from 'node:fs';
import { connect } from 'node:net';
import { BusyError, ExistsError } from '../base/errors.js';

/** Whether a server accepts connections at the socket path now. */
export function socketAnswers(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Makes path free to listen on: a socket file nobody accepts on is left over from a server that died and is
 * removed; a live one (refused with `messages.busy`) or a file that is not a socket (`messages.notSocket`) stays.
 */
export async function removeStaleSocket(path: string, messages: { busy: string; notSocket: string }): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = (await fsp.lstat(path)).isSocket();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!isSocket) throw new ExistsError(messages.notSocket);
  if (await socketAnswers(path)) throw new BusyError(messages.busy);
  await fsp.rm(path, { force: true });
}
