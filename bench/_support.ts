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
