// Which device a command line asks the inspector to show: `inspect [NAME]` (none: the selected device) opens the
// inspector view instead of printing; `inspect FILE` and anything else run as commands. The words are parsed by
// the shared grammar, so a bad line is refused by the command runner with its usage as usual.

import { parseCommand } from './command/parse-command.js';

/** The device to inspect (undefined: none selected), or null when the line is not `inspect [NAME]`. */
export function inspectTarget(line: string, selected: string | undefined): string | undefined | null {
  if (!/^\s*inspect(\s|$)/.test(line)) return null;
  let cmd: ReturnType<typeof parseCommand>;
  try {
    cmd = parseCommand(line);
  } catch {
    return null;
  }
  if (cmd.verb !== 'inspect' || 'file' in cmd.args) return null;
  return cmd.args.name ?? selected;
}
