// Reads the oracle transcripts in fixtures/mirror: `== NAME` checkpoints with STATUS, TABLE, EVENTS, LOG
// and MD5 lines, plus free-form lines (READ, WRITE, LEGS, HELD) kept in order per checkpoint section.

import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface Checkpoint {
  status?: string;
  table?: string;
  events?: number;
  log?: string;
  md5?: [string, string];
}

const fixturesDir = join(dirname(fileURLToPath(import.meta.url)), '../../../fixtures/mirror');

export function readFixture(name: string): string {
  return readFileSync(join(fixturesDir, name), 'utf8');
}

/** Checkpoints by name; status/table keep only what the target prints (after `<start> <len> mirror `). */
export function checkpoints(name: string): Map<string, Checkpoint> {
  const out = new Map<string, Checkpoint>();
  let cur: Checkpoint | null = null;
  for (const line of readFixture(name).split('\n')) {
    if (line.startsWith('== ')) {
      cur = {};
      out.set(line.slice(3), cur);
      continue;
    }
    if (!cur) continue;
    const [key, ...rest] = line.split(' ');
    const value = rest.join(' ');
    if (key === 'STATUS') cur.status = value.replace(/^\d+ \d+ mirror /, '');
    else if (key === 'TABLE') cur.table = value.replace(/^\d+ \d+ mirror /, '');
    else if (key === 'EVENTS') cur.events = Number(value);
    else if (key === 'LOG') cur.log = value;
    else if (key === 'MD5') cur.md5 = rest as [string, string];
  }
  return out;
}

/** The value of the first line starting with `KEY ` after the line `after` (free-form lines). */
export function lineAfter(name: string, after: string, key: string): string {
  const lines = readFixture(name).split('\n');
  const start = lines.findIndex((l) => l.startsWith(after));
  if (start < 0) throw new Error(`${name}: no line starting with ${after}`);
  const hit = lines.slice(start).find((l) => l.startsWith(`${key} `));
  if (hit === undefined) throw new Error(`${name}: no ${key} line after ${after}`);
  return hit.slice(key.length + 1);
}
