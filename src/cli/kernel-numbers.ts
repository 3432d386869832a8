// The dmsetup personality's device numbers: the kernel prints a device in a table or status line (and in deps) as
// MAJOR:MINOR, where dmsim prints the word the table used. Here the one translation: /dev/mapper/NAME (and a
// 253:MINOR word, already a number) is 253:MINOR of the mapped device (the core's DM_MAJOR, as in `ls`), a path
// to a host block device its real major:minor (stat's st_rdev), and anything else (an image file, which the
// kernel cannot take) stays as the table named it.
// The kernel's twin: format_dev_t in dm_table's status (dm-table.c, dm_device_name / "%u:%u").

import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import type { ReportDevice } from '../control/dm-tree.js';
import type { DeviceNumbers } from '../control/dmsetup-report-fields.js';
import type { TableLine } from '../control/protocol.js';
import { DM_MAJOR, MAPPER_PREFIX } from '../dm/device-pool.js';

/** The mapped devices by name, from `ls`. */
export type MinorsByName = ReadonlyMap<string, number>;

/** gnu_dev_major / gnu_dev_minor of a Linux dev_t. */
function splitDevT(rdev: bigint): [bigint, bigint] {
  const major = ((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn);
  const minor = (rdev & 0xffn) | ((rdev >> 12n) & ~0xffn);
  return [major, minor];
}

/** A device word as MAJOR:MINOR, or undefined when it names no mapped or block device (a file, a number, a word). */
function kernelNumber(word: string, mapped: MinorsByName, cwd = process.cwd()): string | undefined {
  if (word.startsWith(MAPPER_PREFIX)) {
    const minor = mapped.get(word.slice(MAPPER_PREFIX.length));
    return minor === undefined ? undefined : `${DM_MAJOR}:${minor}`;
  }
  // Only a path can name a block device (a table word without '/' is a number, a keyword or a file here).
  if (!word.includes('/')) return undefined;
  try {
    const st = statSync(resolve(cwd, word), { bigint: true });
    if (!st.isBlockDevice()) return undefined;
    const [major, minor] = splitDevT(st.rdev);
    return `${major}:${minor}`;
  } catch {
    return undefined;
  }
}

/** A table or status line's parameters with every device word as the kernel prints it. */
export function withKernelNumbers(lines: readonly TableLine[], mapped: MinorsByName): TableLine[] {
  return lines.map((l) => ({
    ...l,
    params: l.params
      .split(' ')
      .map((w) => kernelNumber(w, mapped) ?? w)
      .join(' '),
  }));
}

/** A device that is not mapped: its number when it is a host block device, else the word the table used. */
function hostNumber(d: Extract<ReportDevice, { mapped: false }>): string {
  return kernelNumber(d.boundTo ?? d.word, new Map()) ?? d.word;
}

/** The reports' device numbers (deps, ls --tree, info -c) as the kernel gives them. */
export const KERNEL_NUMBERS: DeviceNumbers = {
  devno: (d) => (d.mapped ? `${d.major}:${d.minor}` : hostNumber(d)),
  devnoPair: (d) => (d.mapped ? `${d.major}, ${d.minor}` : hostNumber(d).replace(':', ', ')),
  blockName: (d) => (d.mapped ? `dm-${d.minor}` : (d.boundTo ?? d.word).replace(/^.*\//, '')),
};
