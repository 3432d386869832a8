// The `dmsim` command end to end against a real daemon: the golden transcripts (each checked against the
// kernel's recording of the same commands), and the daemon as a process (no daemon, --detach, two clients).
// `npm run accept-transcripts` rewrites fixtures/transcripts/*.txt from this run's output; the kernel
// checks still apply, so an output the kernel contradicts cannot be accepted.

import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSizeBytes } from '../../src/base/size.js';
import { DMSIM_VERSION } from '../../src/base/version.js';
import { socketAnswers } from '../../src/net/unix-socket.js';
import { onFileChange, waitFor } from '../support/wait.js';
import { BUILD_TIMEOUT_MS, buildCli, CLI_MAIN, makeBinDir, REPO, runShell, startDaemon } from './cli-harness.js';
import { disagreements, parseTranscript, renderTranscript, type Transcript } from './transcript.js';

const TRANSCRIPTS = join(REPO, 'fixtures', 'transcripts');
const ACCEPT = process.env.DMSIM_ACCEPT_TRANSCRIPTS === '1';

let work: string;
let bin: string;

beforeAll(buildCli, BUILD_TIMEOUT_MS);
beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'dmsim-e2e-'));
  bin = await makeBinDir(work);
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

function envFor(socketPath: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  // No locale, as in the oracle's guest: `ls --tree` draws ASCII there.
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${bin}:${process.env.PATH ?? ''}`,
    DMSIM_SOCKET: socketPath,
    ...extra,
  };
  delete env.LANG;
  delete env.LC_ALL;
  delete env.LC_CTYPE;
  return env;
}

/** Replays a transcript's commands against a fresh daemon over fresh sparse disks; returns what happened. */
async function replay(name: string, reference: Transcript): Promise<Transcript> {
  const dir = await mkdtemp(join(work, `${name}-`));
  const socketPath = join(dir, 'control');
  const vars: Record<string, string> = {};
  for (const d of reference.disks) {
    const path = join(dir, `${d.name}.img`);
    await writeFile(path, '');
    await truncate(path, parseSizeBytes(d.size));
    vars[d.name] = path;
  }
  const env = envFor(socketPath, vars);
  const daemon = await startDaemon(socketPath, env);
  // Paths differ per run: print them as the variables the commands used.
  const replacements: Array<[string, string]> = [
    ...Object.entries(vars).map(([k, v]): [string, string] => [v, `$${k}`]),
    [socketPath, '$SOCKET'],
    [dir, '$TMP'],
  ];
  const normalise = (text: string): string[] => {
    let t = text;
    for (const [from, to] of replacements) t = t.split(from).join(to);
    const lines = t.split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines;
  };
  const steps = [];
  try {
    for (const s of reference.steps) {
      const r = await runShell(s.command, { cwd: dir, env });
      steps.push({ ...s, stdout: normalise(r.stdout), stderr: normalise(r.stderr), exit: r.exit });
    }
  } finally {
    await daemon.stop();
  }
  return { ...reference, steps };
}

const names = (await readdir(TRANSCRIPTS)).filter((f) => f.endsWith('.txt')).map((f) => f.slice(0, -4));

// Two transcripts at a time (vitest.config.ts's maxConcurrency: the machine has two cores, and each runs a
// daemon and a process per command); a transcript's timeout starts when it does, not while it waits its turn.
describe.concurrent('golden transcripts', () => {
  it.each(names)(
    '%s',
    async (name) => {
      const referenceText = await readFile(join(TRANSCRIPTS, `${name}.txt`), 'utf8');
      const reference = parseTranscript(referenceText);
      const kernel = parseTranscript(await readFile(join(TRANSCRIPTS, 'kernel', `${name}.txt`), 'utf8'));
      const actual = await replay(name, reference);
      // What the kernel also printed must be what it printed (major:minor read as the table's words).
      expect(disagreements(actual, kernel)).toEqual([]);
      // dmsim reports every failure in one line on stderr.
      for (const s of actual.steps) {
        if (s.exit !== 0 && !s.command.includes('|')) expect(s.stderr, s.command).toHaveLength(1);
      }
      const rendered = renderTranscript(actual);
      if (ACCEPT) await writeFile(join(TRANSCRIPTS, `${name}.txt`), rendered);
      else expect(rendered).toBe(referenceText);
    },
    180_000,
  );
});

describe('the daemon as a process', () => {
  it('no daemon at the socket: one line saying how to start one, exit 1', async () => {
    const socketPath = join(work, 'nobody', 'control');
    const r = await runShell('dmsim ls', { cwd: work, env: envFor(socketPath) });
    expect(r).toEqual({
      stdout: '',
      stderr: `dmsim: no dmsim daemon at ${socketPath} (start one with: dmsim daemon --detach)\n`,
      exit: 1,
    });
  });

  it('the hint names the --socket the user gave; version prints its own line first; --version needs no daemon', async () => {
    const socketPath = join(work, 'nobody', 'control');
    const env = envFor(join(work, 'elsewhere', 'control'));
    const hint = `dmsim: no dmsim daemon at ${socketPath} (start one with: dmsim daemon --detach --socket ${socketPath})\n`;
    expect(await runShell(`dmsim ls --socket ${socketPath}`, { cwd: work, env })).toEqual({
      stdout: '',
      stderr: hint,
      exit: 1,
    });
    expect(await runShell(`dmsim version --socket ${socketPath}`, { cwd: work, env })).toEqual({
      stdout: `Library version:   dmsim ${DMSIM_VERSION}\n`,
      stderr: hint,
      exit: 1,
    });
    expect(await runShell('dmsim --version', { cwd: work, env })).toEqual({
      stdout: `${DMSIM_VERSION}\n`,
      stderr: '',
      exit: 0,
    });
  });

  it('a reader that closes the pipe early ends dmsim read quietly, as it ends cat', async () => {
    const socketPath = join(work, 'pipe', 'control');
    const env = envFor(socketPath);
    const daemon = await startDaemon(socketPath, env);
    try {
      const r = await runShell(
        'dmsim create z --table "0 65536 zero" && dmsim read z 0 65536 | head -c 16 | od -An -tx1; echo "rc=${PIPESTATUS[0]}"',
        { cwd: work, env },
      );
      expect(r.stderr).toBe('');
      expect(r.stdout).toBe(` ${'00 '.repeat(16).trimEnd()}\nrc=0\n`);
    } finally {
      await daemon.stop();
    }
  });

  it('--detach prints the PID once the socket answers; a second one is refused; SIGTERM removes the socket', async () => {
    const socketPath = join(work, 'detached', 'control');
    const env = envFor(socketPath);
    const first = await runShell('dmsim daemon --detach', { cwd: work, env });
    expect(first.exit).toBe(0);
    expect(first.stdout).toMatch(/^\d+\n$/);
    const pid = Number(first.stdout);
    try {
      expect(await socketAnswers(socketPath)).toBe(true);
      expect((await stat(socketPath)).mode & 0o777).toBe(0o600);
      const second = await runShell(`dmsim daemon --detach --socket ${socketPath}`, { cwd: work, env });
      expect(second).toEqual({ stdout: '', stderr: `dmsim: a daemon is already running at ${socketPath}\n`, exit: 1 });
      expect((await runShell('dmsim ls', { cwd: work, env })).stdout).toBe('No devices found\n');
    } finally {
      process.kill(pid, 'SIGTERM');
    }
    await waitFor(
      `daemon ${pid} to remove ${socketPath} after SIGTERM`,
      () => (existsSync(socketPath) ? undefined : true),
      onFileChange(dirname(socketPath)),
      () => `${socketPath} is still there`,
    );
    await expect(stat(socketPath)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('--trace writes the engine events as JSON lines; SIGINT stops the daemon cleanly', async () => {
    const dir = await mkdtemp(join(work, 'trace-'));
    const socketPath = join(dir, 'control');
    const env = envFor(socketPath);
    const daemon = await startDaemon(socketPath, env, ['--trace', join(dir, 'trace.jsonl')]);
    const r = await runShell('dmsim create z --table "0 64 zero" && dmsim remove z', { cwd: dir, env });
    expect(r.exit).toBe(0);
    expect(await daemon.stop('SIGINT')).toBe(0);
    const events = (await readFile(join(dir, 'trace.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; device?: string });
    expect(events.filter((e) => e.device === 'z').map((e) => e.type)).toEqual(
      expect.arrayContaining(['dm.created', 'dm.removed']),
    );
    await expect(stat(socketPath)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('the real daemon answers garbage, unknown verbs and bad tables with errors and carries on', async () => {
    const dir = await mkdtemp(join(work, 'garbage-'));
    const socketPath = join(dir, 'control');
    const env = envFor(socketPath);
    const daemon = await startDaemon(socketPath, env);
    try {
      const replies = await new Promise<string[]>((resolve, reject) => {
        const s = connect(socketPath);
        let text = '';
        s.setEncoding('utf8');
        s.on('data', (d: string) => {
          text += d;
          if (text.split('\n').length > 4) {
            s.destroy();
            resolve(text.trim().split('\n'));
          }
        });
        s.on('error', reject);
        s.write('\u0000\u00ff not json\n');
        s.write('{"id":1,"verb":"format_disk","args":{}}\n');
        s.write('{"id":2,"verb":"create","args":{"name":"bad","table":"0 8 linear"}}\n');
        s.write('{"id":3,"verb":"create","args":{"name":"x","table":"0 8 zero"}}\n');
      });
      expect(replies.map((l) => JSON.parse(l) as { id: number | null; ok: boolean })).toEqual([
        expect.objectContaining({ id: null, ok: false }),
        expect.objectContaining({ id: 1, ok: false }),
        expect.objectContaining({
          id: 2,
          ok: false,
          error: { code: 'EINVAL', message: expect.stringMatching(/linear: Invalid argument count/) },
        }),
        { id: 3, ok: true, result: null },
      ]);
      expect(await runShell('dmsim ls', { cwd: dir, env })).toEqual({ stdout: 'x\t(253:0)\n', stderr: '', exit: 0 });
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  });

  it('dmsim events follows the engine as JSON lines', async () => {
    const dir = await mkdtemp(join(work, 'events-'));
    const socketPath = join(dir, 'control');
    const env = envFor(socketPath);
    const daemon = await startDaemon(socketPath, env);
    const follower = spawn(process.execPath, [CLI_MAIN, 'events'], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    try {
      let text = '';
      const created = new Promise<Record<string, unknown>>((resolve) => {
        follower.stdout.setEncoding('utf8');
        follower.stdout.on('data', (d: string) => {
          text += d;
          const line = text.split('\n').find((l) => l.includes('"dm.created"'));
          if (line) resolve(JSON.parse(line) as Record<string, unknown>);
        });
      });
      // The subscription is in place once the daemon has two connections; creating until it shows is simplest.
      for (let i = 0; i < 100 && text === ''; i++) {
        await runShell(`dmsim create z${i} --table "0 8 zero"`, { cwd: dir, env });
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(await created).toMatchObject({ type: 'dm.created', device: expect.stringMatching(/^z\d+$/) });
    } finally {
      follower.kill();
      expect(await daemon.stop()).toBe(0);
    }
  });

  it('serves two CLI clients at once', async () => {
    const dir = await mkdtemp(join(work, 'two-'));
    const socketPath = join(dir, 'control');
    const env = envFor(socketPath);
    const daemon = await startDaemon(socketPath, env);
    try {
      await runShell('dmsim create z --table "0 64 zero" && dmsim create m --table "0 64 zero"', { cwd: dir, env });
      const [a, b] = await Promise.all([
        runShell('for i in 1 2 3 4 5; do dmsim info z >/dev/null || exit 1; done; dmsim table z', { cwd: dir, env }),
        runShell('for i in 1 2 3 4 5; do dmsim status m >/dev/null || exit 1; done; dmsim table m', { cwd: dir, env }),
      ]);
      expect(a).toEqual({ stdout: '0 64 zero \n', stderr: '', exit: 0 });
      expect(b).toEqual({ stdout: '0 64 zero \n', stderr: '', exit: 0 });
    } finally {
      expect(await daemon.stop()).toBe(0);
    }
  });
});
