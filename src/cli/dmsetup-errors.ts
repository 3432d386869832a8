// The dmsetup personality's failures: what dmsetup 1.02.185 prints on stderr when an ioctl fails, then its
// "Command failed.", exit 1. dmsetup's twin: libdm-iface.c's _do_dm_ioctl log_error ("device-mapper: %s ioctl on
// %s %s failed: %s" with the ioctl's name from _cmd_data_v4) and dmsetup.c's "Device does not exist." (info,
// status) and "Device %s not found" (a /dev/mapper path naming nothing). Texts as the oracle's dmsetup printed
// them (fixtures/dmsetup-dropin/scripts/kernel/failures.txt, fixtures/transcripts/kernel/).

import { type DmErrorCode, isDmError } from '../base/errors.js';
import { OptionWordError } from '../control/dmsetup-tree.js';
import { DmstatsError } from '../control/dmstats.js';
import { UsageError } from '../control/grammar/grammar.js';
import { ReportFieldError } from '../control/report.js';

/** strerror(3) for each code a DmError may carry (glibc's texts). */
const STRERROR: Record<DmErrorCode, string> = {
  EINVAL: 'Invalid argument',
  EIO: 'Input/output error',
  ENOSPC: 'No space left on device',
  EBUSY: 'Device or resource busy',
  ENXIO: 'No such device or address',
  ENODEV: 'No such device',
  EEXIST: 'File exists',
  ENOENT: 'No such file or directory',
  EPERM: 'Operation not permitted',
  EROFS: 'Read-only file system',
  EOVERFLOW: 'Value too large for defined data type',
  ETIMEDOUT: 'Connection timed out',
  ENODATA: 'No data available',
  EOPNOTSUPP: 'Operation not supported',
  EILSEQ: 'Invalid or incomplete multibyte or wide character',
  ENOMEM: 'Cannot allocate memory',
};

/** The ioctl each dmsetup command runs (_cmd_data_v4's names); create is create then reload. */
const IOCTL: Record<string, string> = {
  create: 'create',
  load: 'reload',
  reload: 'reload',
  remove: 'remove',
  remove_all: 'remove_all',
  suspend: 'suspend',
  resume: 'resume',
  table: 'table',
  deps: 'deps',
  wait: 'waitevent',
  clear: 'clear',
  message: 'message',
  rename: 'rename',
};

/** What the failing command was about, as the personality read its words. */
export interface FailedCommand {
  command: string;
  device?: string;
  /** The device was named by a /dev/mapper/NAME path. */
  byPath: boolean;
  uuid?: string;
  /** create with a table: the ioctl that failed was the reload of the new device, numbered 253:MINOR. */
  reloadOf?: string;
}

/**
 * dmsetup's lines for a failure of the daemon (undefined: not a DmError, or a command dmsetup has not: the caller
 * prints dmsim's own line). A code the kernel would not give for the same failure is dmsim's to fix in the core.
 */
export function dmsetupFailure(e: unknown, cmd: FailedCommand): string | undefined {
  if (e instanceof DmstatsError) return `${e.lines.join('\n')}\nCommand failed.\n`;
  const refused = e instanceof UsageError ? e.refused : e;
  // libdm-report lists the fields, then names the one it does not know; no "Command failed." after it.
  if (refused instanceof ReportFieldError) return `${refused.help}${refused.dmsetupMessage}\n`;
  if (refused instanceof OptionWordError) return `${refused.message}\nCouldn't process command line.\n`;
  if (!isDmError(e) || e.name === 'NoDaemonError' || e.name === 'UsageError') return undefined;
  const missing = e.code === 'ENXIO';
  if (missing && cmd.byPath) return `Device /dev/mapper/${cmd.device} not found\nCommand failed.\n`;
  if (missing && (cmd.command === 'info' || cmd.command === 'status'))
    return 'Device does not exist.\nCommand failed.\n';
  const ioctl = cmd.reloadOf !== undefined ? 'reload' : IOCTL[cmd.command];
  if (ioctl === undefined) return undefined;
  // "on NAME UUID", or "on NAME (MAJOR:MINOR)" when the task knew the number, or "on NAME " when neither.
  const which = cmd.reloadOf !== undefined ? `(${cmd.reloadOf})` : (cmd.uuid ?? '');
  return `device-mapper: ${ioctl} ioctl on ${cmd.device ?? ''} ${which} failed: ${STRERROR[e.code]}\nCommand failed.\n`;
}
