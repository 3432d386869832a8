// `dmsim status|table [NAME] [--target T]`: one line per target, "NAME: " in front when listing all devices.

import type { Command } from 'commander';
import { formatTableLines, NO_DEVICES } from '../format/dmsetup.js';
import { jsonOption, printJson, socketOption, withDaemon, type JsonOptions, type SocketOptions } from '../daemon-session.js';

type Options = SocketOptions & JsonOptions & { target?: string };

function registerTableVerb(program: Command, verb: 'status' | 'table', description: string): void {
  jsonOption(
    socketOption(
      program
        .command(verb)
        .description(description)
        .argument('[name]')
        .option('--target <type>', 'only lines of this target type'),
    ),
  ).action(async (name: string | undefined, opts: Options) => {
    await withDaemon(opts, async (c) => {
      const lines = await c.request(verb, { ...(name !== undefined ? { name } : {}), ...(opts.target !== undefined ? { target: opts.target } : {}) });
      if (opts.json) return printJson(lines);
      // dmsetup says so when there is no device at all, and prints nothing when a --target filter matched none.
      if (name === undefined && lines.length === 0 && (await c.request('ls', {})).length === 0) {
        process.stdout.write(NO_DEVICES);
        return;
      }
      process.stdout.write(formatTableLines(lines, name === undefined));
    });
  });
}

export function registerStatus(program: Command): void {
  registerTableVerb(program, 'status', "show each target's status (the kernel's STATUSTYPE_INFO)");
}

export function registerTable(program: Command): void {
  registerTableVerb(program, 'table', 'show the live table (the kernel\'s STATUSTYPE_TABLE)');
}
