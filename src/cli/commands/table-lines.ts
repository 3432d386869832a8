// `dmsim status|table [NAME] [--target T]` (table also --inactive, status also --explain NAME): one line per target, "NAME: " in front when
// listing all devices.

import type { Command } from 'commander';
import { formatAllDevices, formatOneDevice, formatTableLines } from '../../control/dmsetup-format.js';
import type { VerbArgs } from '../../control/protocol.js';
import { printJson, registerVerb, shownLines, withDaemon } from '../daemon-session.js';

function registerTableVerb(program: Command, verb: 'status' | 'table'): void {
  registerVerb(
    program,
    verb,
    { json: true },
    async ({ explain, ...args }: VerbArgs<'table'> & { explain?: true }, opts) => {
      await withDaemon(opts, async (c) => {
        if (explain && args.name !== undefined) {
          const x = await c.request('explain', { name: args.name });
          if (opts.json) return printJson(x);
          // Loaded here, as the parsers below: only --explain needs the explanation's formatter.
          const { formatExplanation } = await import('../../control/status-history.js');
          return void process.stdout.write(formatExplanation(x));
        }
        const lines = await shownLines(
          c,
          verb === 'table' ? await c.request('table', args) : await c.request('status', args),
        );
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
    },
  );
}

export function registerStatus(program: Command): void {
  registerTableVerb(program, 'status');
}

export function registerTable(program: Command): void {
  registerTableVerb(program, 'table');
}
