// The dmsetup personality's command line: dmsetup's words (options anywhere, before or after the command, as its
// getopt_long allows; /dev/mapper/NAME for a device name, as dm_task_set_name accepts) turned into the words of
// the same shared verb of `dmsim`. No verb is defined here: the words go on to the shared grammar
// (src/control/grammar/verbs.ts), which checks and binds them as it does for `dmsim VERB`.
// dmsetup's twin: _process_switches and _process_command (lvm2 libdm/dm-tools/dmsetup.c).

import { MAPPER_PREFIX } from '../dm/device-pool.js';

/**
 * dmsetup switches that change nothing in dmsim, dropped: udev synchronisation (there is no udev), the device
 * number a create asks for (dmsim picks the lowest free minor, as the kernel does without one), verbosity and
 * the answers for interactive prompts, and --retry (which retries a remove that udev's open briefly made busy).
 */
const IGNORED_FLAGS = new Set([
  '--noudevsync',
  '--verifyudev',
  '-y',
  '--yes',
  '-v',
  '--verbose',
  '--retry',
  '--noudevrules',
  '--addnodeoncreate',
  '--addnodeonresume',
  '--noopencount',
]);
const IGNORED_WITH_VALUE = new Set([
  '-j',
  '--major',
  '-m',
  '--minor',
  '--udevcookie',
  '-U',
  '--uid',
  '-G',
  '--gid',
  '-M',
  '--mode',
]);

/** dmsetup switches that take a value (the next word, unless given as --opt=value or -oVALUE). */
const TAKES_VALUE = new Set([
  ...IGNORED_WITH_VALUE,
  '-u',
  '--uuid',
  '--table',
  '--target',
  '--exec',
  '-o',
  '--options',
  '-O',
  '--sort',
  '--separator',
  '--setuuid',
  '--readahead',
  '--regionid',
  '--areas',
  '--areasize',
  '--start',
  '--length',
  '--bounds',
  '--programid',
  '--userdata',
  '--count',
  '--interval',
  '--units',
  '--select',
  '-S',
]);

/** A dmsetup command line read: the command word, and the words for `dmsim COMMAND ...`. */
export interface DmsetupCommand {
  /** The command (create, remove, stats ...); undefined when none was given. */
  command?: string;
  /** The device the command names, without /dev/mapper/ (for dmsetup's error lines). */
  device?: string;
  /** The words after `dmsim`. */
  argv: string[];
}

/** dm_task_set_name: a /dev/mapper/NAME path names the device NAME. */
function deviceName(word: string): string {
  return word.startsWith(MAPPER_PREFIX) ? word.slice(MAPPER_PREFIX.length) : word;
}

/** Commands whose first operand (after the stats subcommand, for stats) is a device name. */
const NO_DEVICE = new Set(['ls', 'targets', 'version', 'remove_all', 'help', 'mknodes', 'udevcomplete_all']);

export function readDmsetupArgv(words: readonly string[]): DmsetupCommand {
  const options: string[] = [];
  const operands: string[] = [];
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    if (w === '--') {
      operands.push(...words.slice(i + 1));
      break;
    }
    if (!w.startsWith('-') || w === '-') {
      operands.push(w);
      continue;
    }
    const flag = w.includes('=') ? w.slice(0, w.indexOf('=')) : w;
    const inline = w.includes('=') || (/^-[a-zA-Z]./.test(w) && TAKES_VALUE.has(w.slice(0, 2)));
    const key = /^-[a-zA-Z]./.test(w) && !w.startsWith('--') ? w.slice(0, 2) : flag;
    const value = TAKES_VALUE.has(key) && !inline ? words[++i] : undefined;
    if (IGNORED_FLAGS.has(flag) || IGNORED_WITH_VALUE.has(key)) continue;
    options.push(w, ...(value !== undefined ? [value] : []));
  }
  const [command, ...rest] = operands;
  if (command === undefined) return { argv: options };
  // dmstats' commands take the device after their own word: `stats create NAME`.
  const at = command === 'stats' ? 1 : 0;
  const named = !NO_DEVICE.has(command) && rest[at] !== undefined;
  const device = named ? deviceName(rest[at]!) : undefined;
  if (named) rest[at] = device!;
  return { command, ...(device !== undefined ? { device } : {}), argv: [command, ...rest, ...options] };
}
