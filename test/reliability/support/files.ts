// Image files for the reliability tests: made here at a fixed size, then only ever changed through dmsim.

import { promises as fsp } from 'node:fs';
import { waitFor } from '../../support/wait.js';
import type { Workload } from './workload.js';

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

/**
 * Kill point: after `acks` acknowledged writes, then `ms` more milliseconds (a random moment, chosen by the
 * seed, so that requests are in flight when the kill comes).
 */
export async function killPoint(work: Workload, acks: number, ms: number): Promise<void> {
  await waitFor(
    `${acks} acknowledged writes`,
    () => work.acknowledged >= acks || undefined,
    work.onAck,
    () => `${work.acknowledged} writes acknowledged, ${work.flushes} flushes`,
  );
  await new Promise((r) => setTimeout(r, ms));
}
