// What a test needs from the machine: a program on PATH, root, loop devices, a mountable tmpfs. Outside CI a
// test whose prerequisite is missing is skipped with the reason in its name; with CI=true it runs and fails
// naming what is missing, so a CI run cannot pass by skipping (.ci/run installs every program named here).

import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { beforeEach, describe, it, type TestContext } from 'vitest';

/** CI=true (or 1): missing prerequisites fail instead of skipping. */
const inCI = process.env.CI === 'true' || process.env.CI === '1';

function onPath(tool: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir || '.', tool), constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** Why these programs cannot be run here ("qemu-io, nbdinfo not on PATH"), or null when they all can. */
export function missingTools(...tools: string[]): string | null {
  const missing = tools.filter((t) => !onPath(t));
  return missing.length === 0 ? null : `${missing.join(', ')} not on PATH`;
}

/** The first of several reasons that is not null (checks in the order given), or null. */
export function firstMissing(...reasons: (string | null)[]): string | null {
  return reasons.find((r) => r !== null) ?? null;
}

/** Why running as root is needed here, or null when this process is root. */
export function missingRoot(why: string): string | null {
  return process.getuid?.() === 0 ? null : `not running as root (${why})`;
}

/** The first line a command printed on stderr when it failed, or null when it succeeded. */
function fails(cmd: string, args: string[]): string | null {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status === 0) return null;
  return `${[cmd, ...args].join(' ')}: ${(r.error?.message ?? r.stderr ?? '').split('\n')[0] || `status ${r.status}`}`;
}

/** Why loop devices cannot be attached here (root, losetup, a free /dev/loopN), or null. */
export function missingLoopDevices(): string | null {
  return firstMissing(missingRoot('losetup needs root'), missingTools('losetup'), fails('losetup', ['--find']));
}

/** Why a small tmpfs cannot be mounted here (root, mount and umount, a mount that works), or null. */
export function missingTmpfs(): string | null {
  const missing = firstMissing(missingRoot('mount needs root'), missingTools('mount', 'umount'));
  if (missing) return missing;
  const probe = mkdtempSync(join(tmpdir(), 'dmsim-mnt-'));
  try {
    return fails('mount', ['-t', 'tmpfs', '-o', 'size=1M', 'tmpfs', probe]) ?? fails('umount', [probe]);
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}

/** Why FUSE cannot be used here (root, /dev/fuse), or null. */
export function missingFuse(): string | null {
  return firstMissing(missingRoot('nbdfuse mounts by itself as root'), existsSync('/dev/fuse') ? null : 'no /dev/fuse');
}

function failure(missing: string): Error {
  return new Error(`missing prerequisite: ${missing} (CI=true, so this fails instead of skipping; see .ci/run)`);
}

/**
 * describe(name, body) when nothing is missing; otherwise every test in it fails naming `missing` in CI, and
 * the block is skipped with the reason in its name elsewhere.
 */
export function describeNeeding(missing: string | null, name: string, body: () => void): void {
  if (missing === null) describe(name, body);
  else if (inCI)
    describe(name, () => {
      beforeEach(() => {
        throw failure(missing);
      });
      body();
    });
  else describe.skip(`${name} (skipped: ${missing})`, body);
}

/** it(name, fn) when nothing is missing; otherwise a failure naming `missing` in CI, a skip with it elsewhere. */
export function itNeeding(
  missing: string | null,
  name: string,
  fn: (ctx: TestContext) => Promise<void>,
  timeoutMs?: number,
): void {
  if (missing === null) it(name, fn, timeoutMs);
  else if (inCI)
    it(name, () => {
      throw failure(missing);
    });
  else it.skip(`${name} (skipped: ${missing})`, fn);
}

/**
 * For checks inside tests that also assert other things (thin_check after a thin session): true when nothing is
 * missing; in CI a missing prerequisite throws naming it, so the test cannot pass without the check.
 */
export function available(missing: string | null): boolean {
  if (missing !== null && inCI) throw failure(missing);
  return missing === null;
}

/** Inside a running test, for a prerequisite found missing only there: fails in CI, skips elsewhere. */
export function unavailable(ctx: TestContext, missing: string): never {
  if (inCI) throw failure(missing);
  return ctx.skip(missing);
}
