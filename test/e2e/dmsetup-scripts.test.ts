// Scripts written for the real dmsetup, run unchanged with `PATH=$(dmsim shim-path):$PATH` against a dmsim daemon,
// their whole output compared byte for byte with what the same scripts printed on the oracle (real dmsetup
// 1.02.185 on Linux 6.1):
// - fixtures/dmsetup-dropin/scripts/*.sh (LVM-style snapshot and mirror choreographies, containerd's thin-pool
//   use), recorded by scripts/kernel/record.sh: stdout and stderr merged in order, then "[exit N]";
// - the commands of every golden transcript's kernel recording (fixtures/transcripts/kernel/), `dmsim` there
//   being `dmsetup` as in replay.sh: each command's stdout, stderr and exit status.
// The one mask: a disk is an image file here and a virtio disk there, so the kernel's MAJOR:MINOR of a disk (its
// `# dev MAJ:MIN $Dn` line) and our file's path both read `$Dn`. Mapped devices are compared as printed (253:N).

import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSizeBytes } from '../../src/base/size.js';
import { BUILD_TIMEOUT_MS, buildCli, CLI_MAIN, REPO, runShell, startDaemon } from './cli-harness.js';
import { parseTranscript, type Step } from './transcript.js';

const SCRIPTS = join(REPO, 'fixtures', 'dmsetup-dropin', 'scripts');
const TRANSCRIPTS = join(REPO, 'fixtures', 'transcripts');

/**
 * Transcript commands whose output cannot be the kernel's, and why (everything else is compared whole).
 * version: the library line names dmsim, not libdevmapper; targets: dmsim has no striped target.
 */
const DIFFERS = [/^dmsim version\b/, /^dmsim targets\b/];

let work: string;
let shim: string;

beforeAll(buildCli, BUILD_TIMEOUT_MS);

beforeAll(() => {
  const r = spawnSync(process.execPath, [CLI_MAIN, 'shim-path'], { encoding: 'utf8' });
  shim = r.stdout.trim();
  expect(r.status, r.stderr).toBe(0);
});

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'dmsim-scripts-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

/** The kernel's `# dev MAJ:MIN $Dn` lines: the disks' numbers. */
function diskNumbers(text: string): Map<string, string> {
  return new Map([...text.matchAll(/^# dev (\d+):(\d+) (\$D\d+)$/gm)].map((m) => [`${m[1]}:${m[2]}`, m[3]!]));
}

/**
 * The kernel's output with each disk read as its `$Dn`: its number (as MAJ:MIN, and as deps' "(MAJ, MIN)"), and its
 * path where a script echoes its arguments (the oracle attaches image N as /dev/vda, /dev/vdb ...).
 */
function maskKernel(text: string, disks: Map<string, string>): string {
  let t = text.replace(/\/dev\/vd([a-z])\b/g, (path, letter: string) => {
    const n = letter.charCodeAt(0) - 96;
    return n <= disks.size ? `$D${n}` : path;
  });
  for (const [mm, name] of disks) {
    const [major, minor] = mm.split(':');
    t = t.replace(new RegExp(`(?<![\\d:])${major}:${minor}(?![\\d:])`, 'g'), name);
    t = t.split(`(${major}, ${minor})`).join(`(${name})`);
  }
  return t;
}

/** A fresh daemon and disk files; runs fn with the environment a script gets, then stops the daemon. */
async function withDaemon<T>(
  name: string,
  disks: Array<{ name: string; size: string }>,
  fn: (env: NodeJS.ProcessEnv, dir: string, paths: Record<string, string>) => Promise<T>,
): Promise<T> {
  const dir = await mkdtemp(join(work, `${name}-`));
  const socketPath = join(dir, 'control');
  const paths: Record<string, string> = {};
  for (const d of disks) {
    const path = join(dir, `${d.name}.img`);
    await writeFile(path, '');
    await truncate(path, parseSizeBytes(d.size));
    paths[d.name] = path;
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PATH: `${shim}:${process.env.PATH ?? ''}`,
    DMSIM_SOCKET: socketPath,
    ...paths,
  };
  // The oracle's guest has no locale, so dmsetup drew its trees in ASCII there (as cli.test.ts runs them).
  delete env.LANG;
  delete env.LC_ALL;
  delete env.LC_CTYPE;
  const daemon = await startDaemon(socketPath, env);
  try {
    return await fn(env, dir, paths);
  } finally {
    await daemon.stop();
  }
}

function maskOurs(text: string, paths: Record<string, string>): string {
  let t = text;
  for (const [name, path] of Object.entries(paths)) t = t.split(path).join(`$${name}`);
  return t;
}

const scripts = (await readdir(SCRIPTS)).filter((f) => f.endsWith('.sh')).map((f) => f.slice(0, -3));

describe('dmsetup scripts, unchanged, through the shim', () => {
  it('the shim holds dmsetup and dmstats', async () => {
    expect((await readdir(shim)).sort()).toEqual(['dmsetup', 'dmstats']);
  });

  it.each(scripts)(
    '%s.sh prints what it printed on the kernel',
    async (name) => {
      const kernelText = await readFile(join(SCRIPTS, 'kernel', `${name}.txt`), 'utf8');
      const want = maskKernel(kernelText.replace(/^# dev .*\n/gm, ''), diskNumbers(kernelText));
      const disks = [
        { name: 'D1', size: '4M' },
        { name: 'D2', size: '4M' },
      ];
      const got = await withDaemon(name, disks, async (env, dir, paths) => {
        const script = join(SCRIPTS, `${name}.sh`);
        // As record.sh runs it on the oracle: stderr merged into stdout, then the exit status.
        const r = await runShell(`bash ${script} "$D1" "$D2" 2>&1; echo "[exit $?]"`, { cwd: dir, env });
        return maskOurs(r.stdout, paths);
      });
      // On the kernel the script's own path is /in/NAME.sh (it appears in bash's messages).
      expect(got.split(join(SCRIPTS, `${name}.sh`)).join(`/in/${name}.sh`)).toBe(want);
    },
    180_000,
  );
});

const transcripts = (await readdir(join(TRANSCRIPTS, 'kernel'))).filter((f) => f.endsWith('.txt'));

describe('the golden transcripts’ kernel recordings, replayed through the shim', () => {
  it.each(transcripts)(
    '%s',
    async (file) => {
      const kernelText = await readFile(join(TRANSCRIPTS, 'kernel', file), 'utf8');
      const kernel = parseTranscript(kernelText);
      const disks = parseTranscript(await readFile(join(TRANSCRIPTS, file), 'utf8')).disks;
      const numbers = diskNumbers(kernelText);
      const expected = (s: Step): string =>
        maskKernel([...s.stdout, ...s.stderr.map((l) => `! ${l}`), `[exit ${s.exit}]`].join('\n'), numbers);
      const problems = await withDaemon(file.slice(0, -4), disks, async (env, dir, paths) => {
        const found: string[] = [];
        for (const s of kernel.steps) {
          // replay.sh's `dmsim() { dmsetup "$@"; }`: the same command line, run by dmsetup.
          const r = await runShell(`dmsim() { dmsetup "$@"; }\n${s.command}`, { cwd: dir, env });
          const lines = (t: string): string[] => (t === '' ? [] : t.replace(/\n$/, '').split('\n'));
          const got = maskOurs(
            [...lines(r.stdout), ...lines(r.stderr).map((l) => `! ${l}`), `[exit ${r.exit}]`].join('\n'),
            paths,
          );
          const skip = s.kernel === 'differs' || DIFFERS.some((d) => d.test(s.command));
          if (!skip && got !== expected(s)) found.push(`$ ${s.command}\n--- kernel\n${expected(s)}\n--- dmsim\n${got}`);
        }
        return found;
      });
      expect(problems).toEqual([]);
    },
    180_000,
  );
});
