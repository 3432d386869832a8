// Image files for the reliability tests: made here at a fixed size, then only ever changed through dmsim.

import { promises as fsp } from 'node:fs';

export async function makeImage(path: string, bytes: number | Buffer): Promise<void> {
  if (typeof bytes === 'number') {
    await fsp.writeFile(path, '');
    await fsp.truncate(path, bytes);
  } else {
    await fsp.writeFile(path, bytes);
  }
}

/** The size of every image, to check that dmsim never grew or truncated one. */
export async function sizesOf(paths: readonly string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const p of paths) out[p] = (await fsp.stat(p)).size;
  return out;
}

/** Kill point: after `acks` acknowledged writes, then `ms` more milliseconds, so requests are in flight. */
export async function killPoint(acked: () => number, acks: number, ms: number): Promise<void> {
  for (let i = 0; acked() < acks && i < 4000; i++) await new Promise((r) => setTimeout(r, 1));
  await new Promise((r) => setTimeout(r, ms));
}
