// `npm run bench -- tui [minutes] [--no-build]`: `npm start` left running: the demo TUI (dist/, rebuilt first
// unless --no-build) on a pseudo-terminal (`script`, 160x50) for `minutes` (default 3; the goal is stated for
// 30), its RSS and CPU sampled from /proc every 5 s. Reports the RSS at the end, its growth over the second
// half (a leak shows there), and the CPU share of one core over the run.

import { spawn } from 'node:child_process';
import { promises as fsp } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { report } from './_support.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const TICKS = 100; // USER_HZ: /proc/PID/stat counts CPU time in 1/100 s on Linux

function run(cmd: string, args: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
    p.on('error', reject);
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`${cmd} exited ${code}`))));
  });
}

/** RSS (MiB) and CPU seconds of a process, from /proc. */
async function sample(pid: number): Promise<{ rss: number; cpu: number }> {
  const stat = (await fsp.readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]!.split(' ');
  const status = await fsp.readFile(`/proc/${pid}/status`, 'utf8');
  return {
    rss: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1]) / 1024,
    cpu: (Number(stat[11]) + Number(stat[12])) / TICKS, // utime, stime (fields 14 and 15)
  };
}

export async function main(argv: string[]): Promise<void> {
  const minutes = Number(argv.find((a) => !a.startsWith('--')) ?? 3);
  if (!(minutes > 0)) throw new Error('usage: npm run bench -- tui [minutes] [--no-build]');
  if (!argv.includes('--no-build')) await run('npm', ['run', '--silent', 'build']);
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_ENV; // as npm start runs it
  const child = spawn(
    'script',
    ['-qfec', `stty cols 160 rows 50; exec ${process.execPath} dist/src/cli/main.js tui --demo`, '/dev/null'],
    { cwd: root, env, stdio: ['pipe', 'ignore', 'inherit'] },
  );
  const exited = new Promise((r) => child.on('close', r));
  try {
    // The node process is script's child.
    let pid: number | undefined;
    for (let i = 0; i < 100 && pid === undefined; i++) {
      await new Promise((r) => setTimeout(r, 100));
      const children = await fsp.readFile(`/proc/${child.pid}/task/${child.pid}/children`, 'utf8').catch(() => '');
      pid = children.trim() ? Number(children.trim().split(' ')[0]) : undefined;
    }
    if (pid === undefined) throw new Error('the demo did not start');
    const samples: { t: number; rss: number; cpu: number }[] = [];
    const t0 = performance.now();
    const end = t0 + minutes * 60_000;
    for (;;) {
      samples.push({ t: (performance.now() - t0) / 1000, ...(await sample(pid)) });
      const last = samples.at(-1)!;
      if (samples.length % 12 === 0)
        process.stdout.write(`${last.t.toFixed(0)} s: RSS ${last.rss.toFixed(0)} MiB, CPU ${last.cpu.toFixed(1)} s\n`);
      if (performance.now() >= end) break;
      await new Promise((r) => setTimeout(r, 5000));
    }
    const last = samples.at(-1)!;
    const half = samples.find((s) => s.t >= last.t / 2)!;
    const cpuShare = (100 * (last.cpu - samples[0]!.cpu)) / (last.t - samples[0]!.t);
    await report({
      what: `demo TUI (npm start) RSS after ${minutes} min`,
      value: last.rss,
      unit: 'MiB',
      detail: `${samples[0]!.rss.toFixed(0)} MiB at launch, ${half.rss.toFixed(0)} MiB at half time (${(last.rss - half.rss).toFixed(0)} MiB over the second half); goal stated for 30 min`,
      goal: { max: 150 },
    });
    await report({
      what: `demo TUI CPU share of one core over ${minutes} min`,
      value: cpuShare,
      unit: '%',
      detail: `${(last.cpu - samples[0]!.cpu).toFixed(1)} s of CPU in ${(last.t - samples[0]!.t).toFixed(0)} s`,
      goal: { max: 10 },
    });
  } finally {
    child.stdin.write('q'); // quit as a person does: the demo removes its files
    await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
    if (child.exitCode === null) child.kill('SIGTERM');
  }
}
