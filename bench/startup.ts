// `npm run bench -- startup [rounds] [--no-build]`: the time a `dmsim` command takes as a whole process, against a
// bare `node -e 0` in the same run: `dmsim --help` (argument parsing only) and `dmsim status` (a round trip to a
// daemon holding one device). Runs the built command (dist/, rebuilt first unless --no-build), rounds
// interleaved so load on the machine hits every side alike; prints the medians and their ratios. With GNU time
// (/usr/bin/time) it also compares the CPU time (user + system) each process used, which a loaded machine
// (other processes taking turns on the cores) stretches far less than the wall time.

import { existsSync, promises as fsp } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, output, report, timedRun } from './_support.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const dmsim = join(root, 'dist/src/cli/main.js');

const GNU_TIME = '/usr/bin/time';

/** Wall seconds and, with GNU time, the CPU seconds (user + system) of one run. */
async function measured(cmd: string, args: string[], scratch: string): Promise<{ wall: number; cpu?: number }> {
  if (!existsSync(GNU_TIME)) return { wall: await timedRun(cmd, args) };
  const t0 = performance.now();
  await output(root, GNU_TIME, ['-f', '%U %S', '-o', scratch, cmd, ...args]);
  const wall = (performance.now() - t0) / 1000;
  const [user, sys] = (await fsp.readFile(scratch, 'utf8')).trim().split('\n').at(-1)!.split(' ').map(Number);
  return { wall, cpu: user! + sys! };
}

export async function main(argv: string[]): Promise<void> {
  const rounds = Number(argv.find((a) => !a.startsWith('--')) ?? 30);
  if (!Number.isInteger(rounds) || rounds < 1) throw new Error('usage: npm run bench -- startup [rounds] [--no-build]');
  if (!argv.includes('--no-build')) await output(root, 'npm', ['run', '--silent', 'build']);
  const dir = await fsp.mkdtemp(join(tmpdir(), 'dmsim-bench-startup-'));
  const socket = join(dir, 'control.sock');
  const node = process.execPath;
  const pid = Number(await output(root, node, [dmsim, 'daemon', '--socket', socket, '--detach']));
  try {
    await output(root, node, [dmsim, 'mkimg', join(dir, 'a.img'), '1M']);
    await output(root, node, [
      dmsim,
      'create',
      'lv',
      '--socket',
      socket,
      '--table',
      `0 2048 linear ${join(dir, 'a.img')} 0`,
    ]);
    const sides = {
      node: [node, ['-e', '0']],
      help: [node, [dmsim, '--help']],
      status: [node, [dmsim, 'status', '--socket', socket]],
    } as const;
    const names = Object.keys(sides) as (keyof typeof sides)[];
    const times: Record<keyof typeof sides, number[]> = { node: [], help: [], status: [] };
    const cpu: Record<keyof typeof sides, number[]> = { node: [], help: [], status: [] };
    await timedRun(node, [dmsim, '--help']); // warm the page cache
    for (let r = 0; r < rounds; r++) {
      // Rotate who goes first.
      for (let i = 0; i < names.length; i++) {
        const name = names[(r + i) % names.length]!;
        const [cmd, args] = sides[name];
        const m = await measured(cmd, [...args], join(dir, 'time.out'));
        times[name].push(m.wall);
        if (m.cpu !== undefined) cpu[name].push(m.cpu);
      }
    }
    const cpuMs = (k: keyof typeof sides): string => `${(median(cpu[k]) * 1000).toFixed(0)} ms`;
    const ms = (k: keyof typeof sides): string => `${(median(times[k]) * 1000).toFixed(0)} ms`;
    process.stdout.write(`start-up, median of ${rounds} interleaved rounds: node -e 0 ${ms('node')}\n`);
    await report({
      what: 'CLI start-up: `dmsim --help` vs `node -e 0`',
      value: median(times.help) / median(times.node),
      unit: 'x',
      detail: `${ms('help')} vs ${ms('node')}`,
      goal: { max: 1.4 },
    });
    await report({
      what: 'CLI start-up: `dmsim status` round trip vs `node -e 0`',
      value: median(times.status) / median(times.node),
      unit: 'x',
      detail: `${ms('status')} vs ${ms('node')}`,
      goal: { max: 1.4 },
    });
    if (cpu.node.length > 0) {
      for (const k of ['help', 'status'] as const) {
        await report({
          what: `CLI start-up, CPU time: \`dmsim ${k === 'help' ? '--help' : 'status'}\` vs \`node -e 0\``,
          value: median(cpu[k]) / median(cpu.node),
          unit: 'x',
          detail: `${cpuMs(k)} vs ${cpuMs('node')} of CPU (user + system)`,
          goal: { max: 1.4 },
        });
      }
    }
  } finally {
    process.kill(pid, 'SIGTERM');
    await fsp.rm(dir, { recursive: true, force: true });
  }
}
