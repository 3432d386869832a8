// `dmsim tui [--demo] [--attach [SOCKET]] [--scenario FILE] [--trace FILE]`: the live terminal UI (tui/). Embedded engine
// with no devices by default; --demo builds the demo on temporary sparse files; --attach watches and drives a
// running daemon; --scenario plays a lesson step by step (n, s) with its narration.

import type { Command } from 'commander';
import { InvalidArgumentError } from '../../base/errors.js';

interface TuiCliOptions {
  demo?: boolean;
  attach?: boolean | string;
  scenario?: string;
  fps: string;
  pace: string;
  trace?: string;
}

function number(what: string, text: string): number {
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${what} must be a positive number, not '${text}'`);
  return n;
}

export function registerTui(program: Command): void {
  program
    .command('tui')
    .description('the live terminal UI: devices, kcopyd jobs and pages, region and chunk maps, errors')
    .option('--demo', 'build a demo on temporary sparse files (what npm start runs)')
    .option('--attach [socket]', 'watch and drive a running dmsim daemon (default socket: --socket / DMSIM_SOCKET)')
    .option(
      '--scenario <file>',
      'play a lesson (fixtures/lessons/*.json): n plays the next step, s steps kcopyd inside it',
    )
    .option(
      '--trace <file>',
      'write every engine event to FILE: JSON lines, or a Chrome trace (Perfetto, chrome://tracing) when FILE ends in .json',
    )
    .option('--fps <n>', 'most frames drawn per second', '10')
    .option('--pace <factor>', 'demo speed: waits are multiplied by this (0.5 = twice as fast)', '1')
    .action(async (opts: TuiCliOptions) => {
      // Ink draws only a final frame when it believes it runs in CI (the CI variable); the TUI is interactive on a
      // terminal whatever the environment says, so tell Ink so before it is loaded.
      if (process.stdout.isTTY) process.env.CI = '0';
      // React's development build records a PerformanceMeasure for every component render (React 19.2's
      // performance tracks) in Node's performance timeline, which nothing clears: a TUI left running grew by
      // ~60 MiB a minute and spent a fifth of a core on it. The production build records nothing; a person
      // debugging the TUI can still ask for the other with NODE_ENV=development.
      process.env.NODE_ENV ??= 'production';
      // Loaded here so the other verbs do not pay for Ink and React at every start.
      const { runTui } = await import('../../../tui/run-tui.js');
      await runTui({
        demo: opts.demo ?? false,
        attach: opts.attach ?? false,
        ...(opts.scenario !== undefined ? { scenario: opts.scenario } : {}),
        ...(opts.trace !== undefined ? { trace: opts.trace } : {}),
        fps: number('--fps', opts.fps),
        pace: number('--pace', opts.pace),
        version: program.version() ?? undefined,
      });
    });
}
