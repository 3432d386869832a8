// `dmsim run FILE [--socket S] [--trace FILE]`: plays a scenario (a lesson or a test flow, see fixtures/lessons/SCHEMA.md)
// headless and prints a TAP report; exit 0 only when every step held.

import type { Command } from 'commander';
import { InvalidArgumentError } from '../../base/errors.js';
import { EventBus } from '../../base/events.js';
import { wholeNumber } from '../../control/grammar/words.js';
import { resolveSocketPath } from '../../control/socket-path.js';

export function registerRun(program: Command): void {
  program
    .command('run')
    .description('play a scenario file headless and print a TAP report (embedded engine, or a daemon with --socket)')
    .argument('<file>', 'the scenario (JSON, format in fixtures/lessons/SCHEMA.md)')
    .option(
      '--socket <path>',
      "play against the daemon at this control socket instead of an embedded engine ('-' for the default socket)",
    )
    .option(
      '--step-limit <ms>',
      'how long one step may run before it is reported stuck and playing stops (default 60000; 0 = no limit)',
    )
    .option(
      '--trace <file>',
      'write every engine event to FILE: JSON lines, or a Chrome trace (Perfetto, chrome://tracing) when FILE ends in .json',
    )
    .action(async (file: string, opts: { socket?: string; stepLimit?: string; trace?: string }) => {
      const socket =
        opts.socket === undefined ? undefined : resolveSocketPath(opts.socket === '-' ? undefined : opts.socket);
      if (socket !== undefined && opts.trace !== undefined)
        throw new InvalidArgumentError(
          '--trace traces the embedded engine: with --socket, start the daemon with --trace',
        );
      const stepLimitMs = opts.stepLimit === undefined ? undefined : wholeNumber('--step-limit', opts.stepLimit);
      // Loaded here: the player and the trace writer bring the whole engine, which the other verbs must not pay for at
      // start-up.
      const [{ runScenario }, { openTraceFile }] = await Promise.all([
        import('../../scenario/run-scenario.js'),
        import('../../dm/trace-file.js'),
      ]);
      const bus = new EventBus();
      const trace = opts.trace !== undefined ? openTraceFile(bus, opts.trace) : null;
      try {
        const result = await runScenario(file, {
          ...(socket !== undefined ? { socket } : { bus }),
          ...(stepLimitMs !== undefined ? { stepLimitMs } : {}),
          onLine: (l) => process.stdout.write(`${l}\n`),
        });
        if (!result.ok) process.exitCode = 1;
      } finally {
        await trace?.close();
      }
    });
}
