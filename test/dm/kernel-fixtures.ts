// Readers for the oracle recordings in fixtures/kernel/helpers (see its README): refusal cases and
// `$ command` transcripts, with the kernel's major:minor numbers translated to the words dmsim prints.

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const DIR = fileURLToPath(new URL('../../fixtures/kernel/helpers/', import.meta.url));

export function readFixture(name: string): string {
  return readFileSync(DIR + name, 'utf8');
}

/** Sizes of the images the jobs ran on, in sectors. */
export const VDA_SECTORS = 65536;
export const VDB_SECTORS = 16384;

export interface RefusalCase {
  name: string;
  table: string;
  rc: number;
  out: string[];
  dmesg: string[];
  result: string[];
}

export function refusalCases(): RefusalCase[] {
  const cases: RefusalCase[] = [];
  let cur: RefusalCase | undefined;
  for (const line of readFixture('refusals.out').split('\n')) {
    if (line.startsWith('### ')) {
      cur = { name: line.slice(4), table: '', rc: -1, out: [], dmesg: [], result: [] };
      cases.push(cur);
      continue;
    }
    if (!cur) continue;
    const m = /^(table|out|rc|dmesg|result): ?(.*)$/.exec(line);
    if (!m) continue;
    const [, kind, text] = m as unknown as [string, string, string];
    if (kind === 'table') cur.table += `${text}\n`;
    else if (kind === 'rc') cur.rc = Number(text);
    else if (kind === 'out') cur.out.push(text);
    else if (kind === 'dmesg') cur.dmesg.push(text);
    else cur.result.push(text);
  }
  return cases.filter((c) => c.name !== 'end');
}

/** `$ command` blocks of a transcript: the command, the lines it printed, its rc, and any `dmesg:` lines after. */
export function transcript(name: string): { cmd: string; lines: string[]; rc: number; dmesg: string[] }[] {
  const blocks: { cmd: string; lines: string[]; rc: number; dmesg: string[] }[] = [];
  for (const line of readFixture(name).split('\n')) {
    if (line.startsWith('$ ')) blocks.push({ cmd: line.slice(2), lines: [], rc: -1, dmesg: [] });
    else if (blocks.length > 0) {
      const b = blocks[blocks.length - 1]!;
      const rc = /^rc: (\d+)$/.exec(line);
      if (rc && b.rc === -1) b.rc = Number(rc[1]);
      else if (b.rc === -1) b.lines.push(line);
      else if (line.startsWith('dmesg: ')) b.dmesg.push(line.slice(7));
    }
  }
  return blocks;
}

/** The output of the first block whose command is exactly `cmd`, after `after` earlier matches. */
export function outputOf(name: string, cmd: string, nth = 0): string[] {
  const found = transcript(name).filter((b) => b.cmd === cmd);
  const b = found[nth];
  if (!b) throw new Error(`no "$ ${cmd}" (#${nth}) in ${name}`);
  return b.lines;
}

/** Replaces the kernel's major:minor words with the table words dmsim prints. */
export function translateDevices(text: string, minors: Record<number, string> = {}): string {
  return text
    .replace(/\b254:0\b/g, '/dev/vda')
    .replace(/\b254:16\b/g, '/dev/vdb')
    .replace(/\b253:(\d+)\b/g, (w, m: string) => (minors[Number(m)] ? `/dev/mapper/${minors[Number(m)]}` : w));
}
