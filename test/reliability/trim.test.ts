// TRIM over NBD against the real daemon process (issue 13, item 2): a guest's mkfs or fstrim sends discards to
// an exported snapshot-origin. In Linux 6.1 the origin takes no discards (origin_ctr sets only num_flush_bios;
// fixtures/discard/discard.out: blkdiscard fails with EOPNOTSUPP and the snapshot does not move), so the export
// must not offer TRIM, a TRIM sent anyway must be refused, and the snapshot must stay valid with no copy-out.

import { execFile, spawnSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ControlClient } from '../../src/control/client.js';
import { NBD_EINVAL } from '../../src/nbd/codec.js';
import { openExport } from '../nbd/support/raw-client.js';
import { type DaemonHandle, startDaemon } from '../support/daemon-process.js';
import { makeImage } from './support/files.js';

const have = (tool: string): boolean => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
const missing = ['qemu-io', 'nbdinfo'].filter((t) => !have(t));
if (missing.length > 0) console.warn(`test/reliability/trim: skipped: ${missing.join(', ')} not installed`);

const MIB = 1024 * 1024;
const ORIGIN_SECTORS = (32 * MIB) / 512;
let dir = '';
let socket = '';
let daemon: DaemonHandle;
let client: ControlClient;
const uris: Record<string, string> = {};

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

async function status(name: string): Promise<string> {
  const lines = await client.request('status', { name });
  return lines.map((l) => l.params).join('\n');
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dmsim-trim-'));
  socket = join(dir, 'control');
  await makeImage(join(dir, 'origin.img'), 32 * MIB);
  await makeImage(join(dir, 'cow.img'), 4 * MIB);
  await makeImage(join(dir, 'plain.img'), 4 * MIB);
  daemon = await startDaemon(socket, ['--state', join(dir, 'state.json')]);
  client = await ControlClient.connect(socket);
  const origin = join(dir, 'origin.img');
  await client.request('create', { name: 'origin', table: `0 ${ORIGIN_SECTORS} snapshot-origin ${origin}` });
  await client.request('create', {
    name: 'snap',
    table: `0 ${ORIGIN_SECTORS} snapshot ${origin} ${join(dir, 'cow.img')} P 8`,
  });
  await client.request('create', { name: 'plain', table: `0 8192 linear ${join(dir, 'plain.img')} 0` });
  for (const name of ['origin', 'plain']) uris[name] = (await client.request('export', { name })).uri;
});

afterAll(async () => {
  client?.close();
  await daemon?.kill('SIGTERM');
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(missing.length > 0)('TRIM over NBD', () => {
  it('an exported snapshot-origin offers no TRIM; a linear over a file does', async () => {
    const info = async (uri: string) =>
      (JSON.parse((await run('nbdinfo', ['--json', uri])).stdout) as { exports: Array<Record<string, unknown>> })
        .exports[0];
    expect(await info(uris.origin!)).toMatchObject({ 'export-name': 'origin', can_trim: false, is_read_only: false });
    expect(await info(uris.plain!)).toMatchObject({ 'export-name': 'plain', can_trim: true });
  });

  it("qemu-io's discard of the whole origin changes nothing: the snapshot keeps its two metadata chunks and stays valid", async () => {
    const before = await status('snap');
    expect(before).toBe('16/8192 16');
    const r = await run('qemu-io', ['-f', 'raw', uris.origin!, '-c', 'discard 0 32M']);
    expect(r.code).toBe(0);
    expect(await status('snap')).toBe(before);
  });

  it('a TRIM sent anyway is refused with EINVAL, as nbdkit refuses a TRIM it did not offer', async () => {
    const c = await openExport(new URL(uris.origin!).searchParams.get('socket')!, 'origin');
    c.request(4, 0, 4096);
    expect((await c.reply()).error).toBe(NBD_EINVAL);
    c.close();
    expect(await status('snap')).toBe('16/8192 16');
  });
});
