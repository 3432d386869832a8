// `dmsim status|table [NAME] [--target T]` (table also --inactive): one line per target, "NAME: " in front when
// listing all devices.

import type { Command } from 'commander';
import { withParsedStatus, withParsedTable } from '../../../targets/status.js';
import { formatAllDevices, formatOneDevice, formatTableLines } from '../../control/dmsetup-format.js';
import {
  type JsonOptions,
  jsonOption,
  printJson,
  type SocketOptions,
  socketOption,
  withDaemon,
} from '../daemon-session.js';

type Options = SocketOptions & JsonOptions & { target?: string; inactive?: boolean };

function registerTableVerb(program: Command, verb: 'status' | 'table', description: string): void {
  const cmd = program
    .command(verb)
    .description(description)
    .argument('[name]')
    .option('--target <type>', 'only lines of this target type');
  if (verb === 'table') cmd.option('--inactive', 'show the table loaded in the inactive slot');
  jsonOption(socketOption(cmd)).action(async (name: string | undefined, opts: Options) => {
    await withDaemon(opts, async (c) => {
      const args = {
        ...(name !== undefined ? { name } : {}),
        ...(opts.target !== undefined ? { target: opts.target } : {}),
      };
      const lines =
        verb === 'table'
          ? await c.request('table', { ...args, inactive: opts.inactive ?? false })
          : await c.request('status', args);
      // --json: the raw lines, each with its typed form in `parsed` (targets/status.ts).
      if (opts.json) return printJson(verb === 'table' ? withParsedTable(lines) : withParsedStatus(lines));
      if (name !== undefined) {
        process.stdout.write(opts.target === undefined ? formatOneDevice(lines) : formatTableLines(lines, false));
        return;
      }
      const names = (await c.request('ls', {})).map((d) => d.name);
      // With --target, devices without a matching target print nothing (dmsetup's filter), not "NAME: ".
      process.stdout.write(
        opts.target === undefined || names.length === 0
          ? formatAllDevices(names, lines)
          : formatTableLines(lines, true),
      );
    });
  });
}

export function registerStatus(program: Command): void {
  registerTableVerb(program, 'status', "show each target's status (the kernel's STATUSTYPE_INFO)");
}

export function registerTable(program: Command): void {
  registerTableVerb(program, 'table', "show the live table, or the inactive one (the kernel's STATUSTYPE_TABLE)");
}
