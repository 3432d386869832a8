// `npm run bench -- all [NAME...]`: runs every benchmark run.ts finds (or the ones named), each in its own process
// with the argument lists it exports as `allRuns` (default: one run with no arguments), collects the figures each
// reports (_support.ts report()) and writes one Markdown table to bench/out/all.md (and a dated copy): figure,
// goal, met or not, with the machine's cores and load average, which say how far to trust the run.

import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BenchFigure, goalMet, goalText, RESULTS_ENV, valueText } from './_support.js';

interface Row {
  bench: string;
  figure?: BenchFigure;
  /** Why a run has no figure. */
  note?: string;
}

function runBench(runner: string, name: string, args: string[], results: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--import', 'tsx', runner, name, ...args], {
      stdio: 'inherit',
      env: { ...process.env, [RESULTS_ENV]: results },
    });
    p.on('error', reject);
    p.on('close', (code) => resolve(code ?? 1));
  });
}

function git(args: string[]): Promise<string> {
  return new Promise((resolve) => {
    const p = spawn('git', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.on('error', () => resolve('?'));
    p.on('close', () => resolve(out.trim() || '?'));
  });
}

const load = (): string =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(' / ');
const cell = (s: string): string => s.replaceAll('|', '\\|').replaceAll('\n', ' ');

export async function runAll(here: string, available: string[], names: string[]): Promise<void> {
  const unknown = names.filter((n) => !available.includes(n));
  if (unknown.length > 0) throw new Error(`no benchmark ${unknown.join(', ')} (there are: ${available.join(', ')})`);
  const chosen = names.length > 0 ? names : available;
  const runner = join(here, 'run.ts');
  const started = new Date();
  const loadBefore = load();
  const rows: Row[] = [];
  const dir = await fsp.mkdtemp(join(tmpdir(), 'dmsim-bench-all-'));
  try {
    for (const name of chosen) {
      const mod = (await import(join(here, `${name}.ts`))) as { allRuns?: string[][] };
      for (const args of mod.allRuns ?? [[]]) {
        const label = [name, ...args].join(' ');
        process.stdout.write(`\n## npm run bench -- ${label}\n`);
        const results = join(dir, `${rows.length}.jsonl`);
        const code = await runBench(runner, name, args, results);
        const lines = (await fsp.readFile(results, 'utf8').catch(() => '')).split('\n').filter(Boolean);
        for (const l of lines) rows.push({ bench: label, figure: JSON.parse(l) as BenchFigure });
        if (code !== 0) rows.push({ bench: label, note: `failed (exit ${code}): see its output` });
        else if (lines.length === 0) rows.push({ bench: label, note: 'reports no figures: see its output' });
      }
    }
  } finally {
    await fsp.rm(dir, { recursive: true, force: true });
  }
  const cpu = cpus();
  const commit = await git(['rev-parse', '--short', 'HEAD']);
  const dirty = (await git(['status', '--porcelain', '--untracked-files=no'])) === '?' ? '' : ' (with changes)';
  const table = [
    `# dmsim benchmarks`,
    '',
    `\`npm run bench -- all\`, ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC, commit ${commit}${dirty}, ` +
      `Node ${process.version}, ${cpu.length} cores (${cpu[0]?.model.trim() ?? 'unknown'}), ` +
      `load average ${loadBefore} at the start and ${load()} at the end.`,
    'Ratios are against the reference measured in the same run (higher is better for throughput, lower for time).',
    '',
    '| bench | what | result | goal | met | measured |',
    '|---|---|---|---|---|---|',
    ...rows.map(({ bench, figure: f, note }) => {
      if (!f) return `| ${cell(bench)} | | | | | ${cell(note ?? '')} |`;
      const met = goalMet(f);
      return `| ${cell(bench)} | ${cell(f.what)} | ${valueText(f)} | ${cell(goalText(f.goal, f.unit))} | ${met === undefined ? '' : met ? 'yes' : '**no**'} | ${cell(f.detail)} |`;
    }),
    '',
  ].join('\n');
  const out = join(here, 'out');
  await fsp.mkdir(out, { recursive: true });
  await fsp.writeFile(join(out, 'all.md'), table);
  await fsp.writeFile(join(out, `all-${started.toISOString().replaceAll(':', '').slice(0, 15)}.md`), table);
  process.stdout.write(`\n${table}\nwritten to ${join(out, 'all.md')}\n`);
}
