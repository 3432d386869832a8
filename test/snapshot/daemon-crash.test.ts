// Crash, for real: `dmsim daemon` is killed with SIGKILL while origin writes are in flight; a new daemon
// activates the snapshot from the same COW file and must read exactly the data the snapshot had at creation.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ControlClient } from '../../src/control/client.js';
import { startDaemon } from '../support/daemon-process.js';
import { cowImage, pattern } from './support/pattern.js';

describe('daemon killed in the middle of origin writes', () => {
  it('a new daemon re-activates the snapshot from the COW file with the data it had at creation', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'dmsim-snap-kill-'));
    try {
      const O = 4096;
      const origin = join(dir, 'origin.img');
      const cow = join(dir, 'cow.img');
      await writeFile(origin, pattern('OLD', 0, O));
      await writeFile(cow, cowImage(2 * O));
      const socket = join(dir, 'control');
      const first = await startDaemon(socket);
      const c = await ControlClient.connect(socket);
      await c.request('create', { name: 'origin', table: `0 ${O} snapshot-origin ${origin}` });
      await c.request('suspend', { name: 'origin' });
      await c.request('create', { name: 'snap', table: `0 ${O} snapshot ${origin} ${cow} P 8` });
      await c.request('resume', { name: 'origin' });
      let done = 0;
      let fortyDone: () => void = () => undefined;
      const forty = new Promise<void>((r) => (fortyDone = r));
      const writes = Array.from({ length: 300 }, (_, i) => {
        const sector = (i * 131) % (O - 16);
        return c.write('origin', sector, pattern(`N${i % 10}`, sector, 1 + (i % 16))).then(
          () => {
            if (++done === 40) fortyDone();
          },
          () => undefined, // the daemon died under it
        );
      });
      await forty;
      await first.kill('SIGKILL');
      await Promise.all(writes);
      expect(done).toBeLessThan(300); // killed mid-stream
      c.close();

      const second = await startDaemon(socket);
      const c2 = await ControlClient.connect(socket);
      await c2.request('create', { name: 'snap', table: `0 ${O} snapshot ${origin} ${cow} P 8` });
      expect((await c2.read('snap', 0, O)).equals(pattern('OLD', 0, O))).toBe(true);
      const status = await c2.request('status', { name: 'snap' });
      expect(JSON.stringify(status)).toMatch(/\d+\/8192 \d+/);
      c2.close();
      await second.kill('SIGTERM');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
