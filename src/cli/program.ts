// The `dmsim` program: dmsetup's verbs (talking to `dmsim daemon`), I/O helpers, copy, mkimg, tui. Each verb
// lives in its own module under src/cli/commands/ and registers itself here; main.ts runs it.

import { Command, CommanderError } from 'commander';
import { isDmError } from '../base/errors.js';
import { DMSIM_VERSION } from '../base/version.js';
import { registerClear } from './commands/clear.js';
import { registerCopy } from './commands/copy.js';
import { registerCreate } from './commands/create.js';
import { registerDaemon } from './commands/daemon.js';
import { registerDeps } from './commands/deps.js';
import { registerEvents } from './commands/events.js';
import { registerExport } from './commands/export.js';
import { registerFlush } from './commands/flush.js';
import { registerInfo } from './commands/info.js';
import { registerInspect } from './commands/inspect.js';
import { registerLoad } from './commands/load.js';
import { registerLs } from './commands/ls.js';
import { registerMessage } from './commands/message.js';
import { registerMkimg } from './commands/mkimg.js';
import { registerMknodes } from './commands/mknodes.js';
import { registerRead } from './commands/read.js';
import { registerRemove } from './commands/remove.js';
import { registerRemoveAll } from './commands/remove-all.js';
import { registerRename } from './commands/rename.js';
import { registerResume } from './commands/resume.js';
import { registerRun } from './commands/run.js';
import { registerShimPath } from './commands/shim-path.js';
import { registerSplitname } from './commands/splitname.js';
import { registerStats } from './commands/stats.js';
import { registerSuspend } from './commands/suspend.js';
import { registerStatus, registerTable } from './commands/table-lines.js';
import { registerTargets } from './commands/targets.js';
import { registerTui } from './commands/tui.js';
import { registerUnexport } from './commands/unexport.js';
import { registerVersion } from './commands/version.js';
import { registerWait } from './commands/wait.js';
import { registerWrite } from './commands/write.js';

export function buildProgram(): Command {
  const program = new Command('dmsim')
    .description('Linux device-mapper in user space')
    .version(DMSIM_VERSION, '-V, --version')
    .showHelpAfterError(false)
    // dmsetup's global switch, accepted before the verb too (dmsim has no udev to wait for).
    .option('--noudevsync', 'accepted for dmsetup compatibility (dmsim has no udev to wait for)')
    // A verb of the shared grammar shows its usage (NAME, SECTOR ...), which says which words it needs.
    .configureHelp({ subcommandTerm: (c) => [[c.name(), ...c.aliases()].join('|'), c.usage()].join(' ').trimEnd() });
  registerMkimg(program);
  registerCreate(program);
  registerLoad(program);
  registerSuspend(program);
  registerResume(program);
  registerRemove(program);
  registerRemoveAll(program);
  registerStatus(program);
  registerTable(program);
  registerInfo(program);
  registerLs(program);
  registerMessage(program);
  registerWait(program);
  registerStats(program);
  registerTargets(program);
  registerVersion(program);
  registerRead(program);
  registerWrite(program);
  registerFlush(program);
  registerEvents(program);
  registerCopy(program);
  registerDaemon(program);
  registerDeps(program);
  registerClear(program);
  registerTui(program);
  registerExport(program);
  registerUnexport(program);
  registerRun(program);
  registerInspect(program);
  registerRename(program);
  registerSplitname(program);
  registerMknodes(program);
  registerShimPath(program);
  return program;
}

/** One clear line on stderr and a non-zero exit, never a stack trace for a user error. */
export function reportFailure(e: unknown): number {
  if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 1;
  const message = isDmError(e) ? e.message : e instanceof Error ? e.message : String(e);
  process.stderr.write(`dmsim: ${message}\n`);
  return 1;
}
