// The reports scripts parse, put together from the daemon's answers the way dmsetup 1.02.185 does it from the
// kernel's (lvm2 libdm/dm-tools/dmsetup.c: _info with -c, _display_tree, _deps and _display_name with -o,
// _ls with --target, _splitname): the CLI and the TUI print the same text. Device numbers and kernel names come
// from one DeviceNumbers (dmsim's, or the dmsetup personality's).

import { MAPPER_PREFIX } from '../dm/device-pool.js';
import { DmTree, type ReportDevice } from './dm-tree.js';
import { formatDeps, formatInfo, formatLs, NO_DEVICES } from './dmsetup-format.js';
import {
  type DeviceNumbers,
  type DeviceRow,
  infoColumnsReport,
  SPLITNAME_REPORT,
  splitName,
} from './dmsetup-report-fields.js';
import { drawTree, OptionWordError, type TreeOptions, treeOptions } from './dmsetup-tree.js';
import type { DeviceDeps, Verb, VerbArgs, VerbResult, WireDeviceInfo } from './protocol.js';
import { type ReportOptions, type ReportOutput, runReport } from './report.js';

/** What the reports ask the daemon. */
export interface ReportClient {
  request<V extends Verb>(verb: V, args: VerbArgs<V>): Promise<VerbResult<V>>;
}

/** How `deps` and `ls` name a device with -o: its number, its kernel name, or its mapped-device name. */
export type DeviceNaming = 'devno' | 'blkdevname' | 'devname';

/** dmsetup's -o words for deps and ls; each may be abbreviated (strncmp), the first match wins. */
const NAMINGS: readonly DeviceNaming[] = ['devno', 'blkdevname', 'devname'];

/** _process_options: the last word of -o counts; a word it does not know is refused. */
export function deviceNaming(words: string | undefined): DeviceNaming {
  let naming: DeviceNaming = 'devno';
  let rest = words ?? '';
  while (rest !== '') {
    const comma = rest.indexOf(',');
    const word = comma < 0 ? rest : rest.slice(0, comma);
    const match = NAMINGS.find((n) => n.startsWith(word));
    if (match === undefined) throw new OptionWordError(`Option not recognised: ${rest}.`);
    naming = match;
    if (comma < 0) break;
    rest = rest.slice(comma + 1);
  }
  return naming;
}

function mappedDevice(i: WireDeviceInfo): ReportDevice {
  return { mapped: true, name: i.name, major: i.major, minor: i.minor };
}

/** Every device and what each live table uses, as report devices (DM_TABLE_DEPS order). */
class DeviceSet {
  readonly byName: Map<string, WireDeviceInfo>;
  private readonly used: Map<string, ReportDevice[]>;

  constructor(infos: readonly WireDeviceInfo[], deps: readonly DeviceDeps[]) {
    this.byName = new Map(infos.map((i) => [i.name, i]));
    this.used = new Map(
      deps.map((d) => [
        d.name,
        d.devices.map((word, k): ReportDevice => {
          const bound = d.boundTo?.[k] ?? '';
          const mapped = bound.startsWith(MAPPER_PREFIX)
            ? this.byName.get(bound.slice(MAPPER_PREFIX.length))
            : undefined;
          if (mapped) return mappedDevice(mapped);
          return bound === '' ? { mapped: false, word } : { mapped: false, word, boundTo: bound };
        }),
      ]),
    );
  }

  static async fetch(client: ReportClient): Promise<DeviceSet> {
    return new DeviceSet(await client.request('info', {}), await client.request('deps', {}));
  }

  deps(name: string): readonly ReportDevice[] {
    return this.used.get(name) ?? [];
  }

  /** _build_whole_deptree: every device, in listing order. */
  tree(): DmTree {
    const tree = new DmTree({ deps: (d) => (d.mapped ? this.deps(d.name) : []) });
    for (const i of this.byName.values()) tree.add(mappedDevice(i));
    return tree;
  }
}

/** `info -c [NAME...]`: the column report of the named devices (in the order given), or of every device. */
async function infoColumns(
  client: ReportClient,
  names: readonly string[],
  options: ReportOptions,
  numbers: DeviceNumbers,
): Promise<ReportOutput> {
  const set = await DeviceSet.fetch(client);
  const infos: WireDeviceInfo[] = [];
  for (const name of names) infos.push(...(await client.request('info', { name })));
  const selected = names.length > 0 ? infos : [...set.byName.values()];
  if (selected.length === 0 && names.length === 0) return { stdout: NO_DEVICES, stderr: '' };
  const tree = set.tree();
  const rows = selected.map(
    (info): DeviceRow => ({
      info,
      device: mappedDevice(info),
      deps: set.deps(info.name),
      tree,
      split: splitName(info.name, info.uuid, '-'),
    }),
  );
  return runReport(infoColumnsReport(numbers), rows, options);
}

/** `splitname NAME [SUBSYSTEM]` (the subsystem defaults to LVM). */
export function splitnameReport(name: string, subsystem: string | undefined, options: ReportOptions): ReportOutput {
  return runReport(SPLITNAME_REPORT, [splitName(name, subsystem ?? 'LVM', null)], options);
}

/** `ls --tree [-o OPTIONS]`. */
async function lsTree(
  client: ReportClient,
  options: TreeOptions,
  numbers: DeviceNumbers,
  termWidth: number,
): Promise<string> {
  const set = await DeviceSet.fetch(client);
  if (set.byName.size === 0) return NO_DEVICES;
  const info = (name: string) => {
    const i = set.byName.get(name);
    return i && { suspended: i.state === 'SUSPENDED', readOnly: i.readOnly, openCount: i.openCount, uuid: i.uuid };
  };
  return drawTree(set.tree(), options, numbers, info, termWidth);
}

/** How a device prints under -o NAMING: "(253, 0)" as numbers, "(dm-0)", or "(base)" (a mapped device's name). */
function named(d: ReportDevice, naming: DeviceNaming, numbers: DeviceNumbers, pair: boolean): string {
  if (naming === 'devname' && d.mapped) return d.name;
  if (naming !== 'devno') return numbers.blockName(d);
  return pair ? numbers.devnoPair(d) : numbers.devno(d);
}

/** `deps -o NAMING [NAME]`: "<n> dependencies<TAB>:" and each device used, "NAME: " in front when listing all. */
async function depsNamed(
  client: ReportClient,
  name: string | undefined,
  naming: DeviceNaming,
  numbers: DeviceNumbers,
): Promise<string> {
  const set = await DeviceSet.fetch(client);
  const names = name !== undefined ? [name] : [...set.byName.keys()];
  if (name !== undefined) await client.request('info', { name }); // a device that is not there is refused
  if (names.length === 0) return NO_DEVICES;
  return names
    .map((n) => {
      const deps = set.deps(n);
      const each = deps.map((d) => ` (${named(d, naming, numbers, true)})`).join('');
      return `${name === undefined ? `${n}: ` : ''}${deps.length} dependencies\t:${each}\n`;
    })
    .join('');
}

/** `ls -o NAMING`: "NAME<TAB>(253:0)", "(dm-0)" or "(NAME)". */
async function lsNamed(client: ReportClient, naming: DeviceNaming, numbers: DeviceNumbers): Promise<string> {
  const infos = await client.request('info', {});
  if (infos.length === 0) return NO_DEVICES;
  return infos.map((i) => `${i.name}\t(${named(mappedDevice(i), naming, numbers, false)})\n`).join('');
}

/**
 * `ls --target TYPE` (and `ls --exec`): the devices with a live target of that type (every device without
 * --target, those without a table too); null when there is no device at all ("No devices found").
 */
export async function lsMatching(client: ReportClient, target: string | undefined): Promise<WireDeviceInfo[] | null> {
  const infos = await client.request('info', {});
  if (infos.length === 0) return null;
  if (target === undefined) return infos;
  const lines = await client.request('table', { target });
  return infos.filter((i) => lines.some((l) => l.name === i.name));
}

function formatLsMatching(infos: readonly WireDeviceInfo[], numbers: DeviceNumbers): string {
  return infos.map((i) => `${i.name}\t(${numbers.devnoPair(mappedDevice(i))})\n`).join('');
}

/** What `info` was asked: the devices (none: all), and with -c the column report's options. */
export interface InfoWords {
  names: string[];
  columns: ReportOptions | null;
}

/** What `ls` was asked: the tree (with its -o options), -o naming, --target, --exec. */
export interface LsWords {
  tree: boolean;
  options?: string;
  target?: string;
  exec?: string;
}

/** What `deps` was asked: one device or all, and how -o names the devices used (null: as the table named them). */
export interface DepsWords {
  name?: string;
  naming: DeviceNaming | null;
}

/** Where a report's text goes. */
export interface ReportText {
  stdout: string;
  stderr: string;
}

/** How the reports print numbers and draw trees where they run (the terminal's locale and width). */
export interface ReportEnvironment {
  numbers: DeviceNumbers;
  utf8: boolean;
  termWidth: number;
}

/** `info [-c ...] [NAME...]`: the long form of each device (dmsetup-format.ts) or the column report. */
export async function infoText(client: ReportClient, words: InfoWords, env: ReportEnvironment): Promise<ReportText> {
  if (words.columns) return infoColumns(client, words.names, words.columns, env.numbers);
  const infos: WireDeviceInfo[] = [];
  if (words.names.length === 0) infos.push(...(await client.request('info', {})));
  for (const name of words.names) infos.push(...(await client.request('info', { name })));
  return { stdout: infos.length === 0 ? NO_DEVICES : formatInfo(infos), stderr: '' };
}

/** `deps [-o NAMING] [NAME]`. */
export async function depsText(client: ReportClient, words: DepsWords, env: ReportEnvironment): Promise<string> {
  if (words.naming !== null) return depsNamed(client, words.name, words.naming, env.numbers);
  const args = words.name !== undefined ? { name: words.name } : {};
  return formatDeps(await client.request('deps', args), words.name === undefined);
}

/** `ls` without --exec (each "NAME<TAB>(MAJOR, MINOR)" with --target): the names and numbers, the tree, or the devices with a target of a type. */
export async function lsText(client: ReportClient, words: LsWords, env: ReportEnvironment): Promise<string> {
  if (words.tree) return lsTree(client, treeOptions(words.options, env.utf8), env.numbers, env.termWidth);
  if (words.target !== undefined) {
    const infos = await lsMatching(client, words.target);
    return infos === null ? NO_DEVICES : formatLsMatching(infos, env.numbers);
  }
  if (words.options !== undefined) return lsNamed(client, deviceNaming(words.options), env.numbers);
  return formatLs(await client.request('ls', {}));
}
