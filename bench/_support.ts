// Helpers the benchmarks share: timing a reference program, and data files no side can take a shortcut on.

import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';

export const MiB = 2 ** 20;

/** Runs a program to completion; resolves to its wall time in seconds, rejects on a non-zero exit. */
export function timedRun(cmd: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('error', reject);
    p.on('close', (code) =>
      code === 0 ? resolve((performance.now() - t0) / 1000) : reject(new Error(`${cmd} exited ${code}`)),
    );
  });
}

/** Writes non-zero, non-repeating data, so neither side can take a zero, sparse or dedup shortcut. */
export async function fillData(path: string, bytes: number): Promise<void> {
  const fh = await fsp.open(path, 'w');
  const chunk = Buffer.alloc(4 * MiB);
  for (let off = 0; off < bytes; off += chunk.length) {
    for (let i = 0; i < chunk.length; i += 8) {
      chunk.writeUInt32LE((off + i) >>> 3, i);
      chunk.writeUInt32LE(0x5eed1e55, i + 4);
    }
    await fh.write(chunk, 0, chunk.length, off);
  }
  await fh.close();
}

/** What a benchmark found for one line of the goals table: a figure, what it is measured against, the goal. */
export interface BenchFigure {
  /** What was measured, e.g. "kcopyd 1 GiB copy, files on disk, vs dd (median)". */
  what: string;
  /** The figure the goal is about: a ratio (unit "x") or an absolute one ("s", "MiB"). */
  value: number;
  unit: string;
  /** The figures behind it, measured in the same run, e.g. "812 MiB/s, dd 1050 MiB/s". */
  detail: string;
  /** The goal: the value must be at least `min` and at most `max`. */
  goal?: { min?: number; max?: number };
}

/** Where `npm run bench -- all` collects the figures: one JSON line each, in a file named by this variable. */
export const RESULTS_ENV = 'DMSIM_BENCH_RESULTS';

export function goalText(goal: BenchFigure['goal'], unit: string): string {
  if (!goal) return '';
  const u = unit === 'x' ? 'x' : ` ${unit}`;
  return [goal.min !== undefined ? `>= ${goal.min}${u}` : '', goal.max !== undefined ? `<= ${goal.max}${u}` : '']
    .filter(Boolean)
    .join(' and ');
}

export function goalMet(f: BenchFigure): boolean | undefined {
  if (!f.goal) return undefined;
  return (f.goal.min === undefined || f.value >= f.goal.min) && (f.goal.max === undefined || f.value <= f.goal.max);
}

export function valueText(f: BenchFigure): string {
  const digits = f.unit === 'x' || f.unit === 's' ? 2 : 1;
  return `${f.value.toFixed(digits)}${f.unit === 'x' ? 'x' : ` ${f.unit}`}`;
}

/** Prints a figure as a line, and records it for `all` when that collects (RESULTS_ENV). */
export async function report(f: BenchFigure): Promise<void> {
  const met = goalMet(f);
  const goal = f.goal ? ` (goal ${goalText(f.goal, f.unit)}: ${met ? 'met' : 'NOT met'})` : '';
  process.stdout.write(`=> ${f.what}: ${valueText(f)}${goal}; ${f.detail}\n`);
  const file = process.env[RESULTS_ENV];
  if (file) await fsp.appendFile(file, `${JSON.stringify(f)}\n`);
}

export function median(xs: number[]): number {
  return [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
}

/** Runs a program in cwd and resolves to what it printed on stdout; rejects on a non-zero exit. */
export function output(cwd: string, cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')} exited ${code}`))));
  });
}
