// What every daemon-talking verb shares: the --socket option, one connection per command, --json output,
// and reading a table from --table, a file or stdin (dmsetup's three table sources).

import { promises as fsp } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../base/errors.js';
import { ControlClient, NoDaemonError } from '../control/client.js';
import { resolveSocketPath } from '../control/socket-path.js';

export interface SocketOptions {
  socket?: string;
}

export interface JsonOptions {
  json?: boolean;
}

export function socketOption(cmd: Command): Command {
  return cmd.option(
    '--socket <path>',
    'control socket of the daemon (default: $DMSIM_SOCKET, else $XDG_RUNTIME_DIR/dmsim/control or /tmp/dmsim-$UID/control)',
  );
}

export function jsonOption(cmd: Command): Command {
  return cmd.option('--json', 'print the result as JSON');
}

/** Connects to the daemon, runs fn, and always closes the connection. */
export async function withDaemon<T>(opts: SocketOptions, fn: (client: ControlClient) => Promise<T>): Promise<T> {
  const socketPath = resolveSocketPath(opts.socket);
  const client = await ControlClient.connect(socketPath).catch((e: unknown) => {
    throw e instanceof NoDaemonError && opts.socket !== undefined ? new NoDaemonError(socketPath, true) : e;
  });
  client.onWarning = (message) => process.stderr.write(`dmsim: warning: ${message}\n`);
  try {
    return await fn(client);
  } finally {
    client.close();
  }
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** --table TEXT, else the FILE argument, else all of stdin. */
export async function readTable(tableOption: string | undefined, file: string | undefined): Promise<string> {
  if (tableOption !== undefined && file !== undefined) {
    throw new InvalidArgumentError(`give the table either with --table or as the file ${file}, not both`);
  }
  if (tableOption !== undefined) return tableOption;
  if (file !== undefined) {
    try {
      return await fsp.readFile(file, 'utf8');
    } catch (e) {
      throw new InvalidArgumentError(`cannot read the table file ${file}: ${(e as Error).message}`);
    }
  }
  if (process.stdin.isTTY) process.stderr.write('dmsim: reading the table from stdin (end it with Ctrl-D)\n');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** Parses a whole number argument (a sector, a count, an event number) or says which one is wrong. */
export function parseWholeNumber(what: string, text: string): number {
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(Number(text))) {
    throw new InvalidArgumentError(`${what} must be a whole number, not '${text}'`);
  }
  return Number(text);
}
