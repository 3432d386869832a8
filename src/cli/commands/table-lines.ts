// `dmsim status|table [NAME] [--target T]` (table also --inactive): one line per target, "NAME: " in front when
// listing all devices.

import type { Command } from 'commander';
import { formatAllDevices, formatOneDevice, formatTableLines } from '../../control/dmsetup-format.js';
import type { VerbArgs } from '../../control/protocol.js';
import { printJson, registerVerb, withDaemon } from '../daemon-session.js';

function registerTableVerb(program: Command, verb: 'status' | 'table'): void {
  registerVerb(program, verb, { json: true }, async (args: VerbArgs<'table'>, opts) => {
    await withDaemon(opts, async (c) => {
      const lines = verb === 'table' ? await c.request('table', args) : await c.request('status', args);
      // --json: the raw lines, each with its typed form in `parsed` (targets/status.ts).
      if (opts.json) {
        // Loaded here: the targets' status parsers are only needed for --json.
        const { withParsedStatus, withParsedTable } = await import('../../../targets/status.js');
        return printJson(verb === 'table' ? withParsedTable(lines) : withParsedStatus(lines));
      }
      if (args.name !== undefined) {
        process.stdout.write(args.target === undefined ? formatOneDevice(lines) : formatTableLines(lines, false));
        return;
      }
      const names = (await c.request('ls', {})).map((d) => d.name);
      // With --target, devices without a matching target print nothing (dmsetup's filter), not "NAME: ".
      process.stdout.write(
        args.target === undefined || names.length === 0
          ? formatAllDevices(names, lines)
          : formatTableLines(lines, true),
      );
    });
  });
}

export function registerStatus(program: Command): void {
  registerTableVerb(program, 'status');
}

export function registerTable(program: Command): void {
  registerTableVerb(program, 'table');
}
