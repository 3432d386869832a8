// What every daemon-talking verb shares: the --socket option, one connection per command, --json output,
// reading a table from --table, a file or stdin (dmsetup's three table sources), and the shared verbs' grammar.

import type { Command } from 'commander';
import { ControlClient, NoDaemonError } from '../control/client.js';
import { DMSIM_NUMBERS } from '../control/dmsetup-report-fields.js';
import type { ReportEnvironment } from '../control/dmsetup-reports.js';
import { utf8Locale } from '../control/dmsetup-tree.js';
import { bindWords, verbCommand } from '../control/grammar/grammar.js';
import { readTableFile } from '../control/grammar/sources.js';
import { grammarOf, type SharedVerb, type TableSource, type VerbWordsValue } from '../control/grammar/verbs.js';
import type { TableLine } from '../control/protocol.js';
import { resolveSocketPath } from '../control/socket-path.js';
import { KERNEL_NUMBERS, withKernelNumbers } from './kernel-numbers.js';

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

function jsonOption(cmd: Command): Command {
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

/** Whose output conventions this process follows: dmsim's, or dmsetup's (the dmsim-dmsetup personality). */
let dmsetupPersonality = false;

/** From here on, devices print as the kernel numbers them (src/cli/dmsetup-main.ts sets it). */
export function enterDmsetupPersonality(): void {
  dmsetupPersonality = true;
}

/** dmsetup's personality: plain `deps` names devices by number, as dmsetup does (dmsim names them as the table did). */
export function inDmsetupPersonality(): boolean {
  return dmsetupPersonality;
}

/** Table and status lines as this process prints them: the kernel's MAJOR:MINOR in dmsetup's personality. */
export async function shownLines(client: ControlClient, lines: TableLine[]): Promise<TableLine[]> {
  if (!dmsetupPersonality) return lines;
  return withKernelNumbers(lines, await mappedMinors(client));
}

async function mappedMinors(client: ControlClient): Promise<Map<string, number>> {
  return new Map((await client.request('ls', {})).map((d) => [d.name, d.minor]));
}

export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A parsed command's table: its text, a file, or all of stdin (dmsetup's three table sources). */
export async function readTable(source: TableSource): Promise<string> {
  if ('text' in source) return source.text;
  if ('file' in source) return readTableFile(source.file);
  if (process.stdin.isTTY) process.stderr.write('dmsim: reading the table from stdin (end it with Ctrl-D)\n');
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/**
 * Adds `dmsim VERB` for a verb of the shared grammar (src/control/grammar/verbs.ts): commander splits the words,
 * the grammar checks them and builds the value `run` gets, as the TUI's command line does with the same words.
 */
export function registerVerb<W extends SharedVerb>(
  program: Command,
  verb: W,
  extras: { json?: boolean; socket?: boolean },
  run: (value: VerbWordsValue<W>, opts: SocketOptions & JsonOptions) => Promise<void>,
): void {
  const grammar = grammarOf(verb);
  const cmd = verbCommand(verb, grammar);
  if (extras.socket !== false) socketOption(cmd);
  if (extras.json) jsonOption(cmd);
  cmd.action(async (...params: unknown[]) => {
    const self = params.at(-1) as Command;
    await run(bindWords(verb, grammar, self.args, self.opts()), self.opts());
  });
  program.addCommand(cmd);
}

/** How this terminal's reports print: dmsim's device numbers, the locale's tree symbols, the tree's width. */
export function reportEnvironment(): ReportEnvironment {
  const columns = process.stdout.isTTY ? process.stdout.columns : 0;
  // dmsetup truncates tree lines at the terminal's width less 3, or at 80 when stdout is not a terminal.
  return {
    numbers: dmsetupPersonality ? KERNEL_NUMBERS : DMSIM_NUMBERS,
    utf8: utf8Locale(process.env),
    termWidth: columns > 3 ? columns - 3 : 80,
  };
}
