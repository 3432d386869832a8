// `dmsim export` and `dmsim unexport` as a user runs them: the real command line against a daemon (here in
// this process), its stdout, exit status and the one stderr line of a refusal.

import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EventBus } from '../../src/base/events.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { ControlDaemon } from '../../src/control/daemon.js';
import { DeviceMapper } from '../../targets/device-mapper.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

let dir: string;
let control: string;
let daemon: ControlDaemon;

function dmsim(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    // The timeout only keeps a hung command from hanging the suite; nothing here measures time.
    execFile(
      process.execPath,
      ['--import', 'tsx', MAIN, ...args, '--socket', control],
      { timeout: 60_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dmsim-nbd-cli-'));
  control = join(dir, 'control');
  const bus = new EventBus();
  const dm = new DeviceMapper({ bus });
  dm.addBackingDevice('disk', new MemoryDevice('disk', 2048));
  await dm.create('lin', '0 2048 linear disk 0');
  daemon = new ControlDaemon({ engine: dm, bus, version: 'test' });
  await daemon.listen(control);
});

afterAll(async () => {
  await daemon.close();
  await rm(dir, { recursive: true, force: true });
});

describe('dmsim export / unexport', () => {
  it('export prints the URI; --json the whole export; bad addresses are refused in one line; unexport frees the device', async () => {
    const bad = await dmsim('export', 'lin', '--listen', '0.0.0.0:10809');
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(
      "dmsim: '0.0.0.0:10809' is not a listen address: use unix:PATH or tcp:HOST:PORT (e.g. tcp:127.0.0.1:10809)\n",
    );

    const ok = await dmsim('export', 'lin', '--read-only');
    expect(ok).toEqual({ code: 0, stdout: `nbd+unix:///lin?socket=${control}.nbd\n`, stderr: '' });

    const ls = await dmsim('ls', '--json');
    expect(JSON.parse(ls.stdout)).toEqual([
      {
        name: 'lin',
        major: 253,
        minor: 0,
        export: {
          name: 'lin',
          listen: `unix:${control}.nbd`,
          uri: `nbd+unix:///lin?socket=${control}.nbd`,
          readOnly: true,
          clients: 0,
        },
      },
    ]);

    const busy = await dmsim('remove', 'lin');
    expect(busy.code).toBe(1);
    expect(busy.stderr).toContain('exported over NBD');

    expect(await dmsim('unexport', 'lin')).toEqual({ code: 0, stdout: '', stderr: '' });
    const again = await dmsim('unexport', 'lin');
    expect(again).toEqual({ code: 1, stdout: '', stderr: 'dmsim: lin: not exported\n' });
    expect((await dmsim('remove', 'lin')).code).toBe(0);
  });
});
