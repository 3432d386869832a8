// `dmsim run FILE [--socket S]`: plays a scenario (a lesson or a test flow, see fixtures/lessons/SCHEMA.md)
// headless and prints a TAP report; exit 0 only when every step held.

import type { Command } from 'commander';
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
    .action(async (file: string, opts: { socket?: string; stepLimit?: string }) => {
      const socket =
        opts.socket === undefined ? undefined : resolveSocketPath(opts.socket === '-' ? undefined : opts.socket);
      const stepLimitMs = opts.stepLimit === undefined ? undefined : wholeNumber('--step-limit', opts.stepLimit);
      // Loaded here: the player brings the whole engine, which the other verbs must not pay for at start-up.
      const { runScenario } = await import('../../scenario/run-scenario.js');
      const result = await runScenario(file, {
        ...(socket !== undefined ? { socket } : {}),
        ...(stepLimitMs !== undefined ? { stepLimitMs } : {}),
        onLine: (l) => process.stdout.write(`${l}\n`),
      });
      if (!result.ok) process.exitCode = 1;
    });
}
