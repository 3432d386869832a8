// Describes a disk image as runs of sectors that are all one byte value ("sectors 0-1499: 0x55"), to compare
// what dmsim wrote with what the kernel wrote (fixtures/kcopyd/*.runs). Run directly: prints an image's runs.

import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';

export function sectorRuns(bytes: Buffer): string[] {
  const runs: string[] = [];
  let start = 0;
  let prev: number | null = null;
  const sectors = bytes.length / 512;
  const sectorValue = (s: number): number => {
    const sec = bytes.subarray(s * 512, (s + 1) * 512);
    return sec.every((b) => b === sec[0]) ? sec[0]! : -1;
  };
  const name = (v: number): string => (v < 0 ? 'mixed' : `0x${v.toString(16).padStart(2, '0')}`);
  for (let s = 0; s <= sectors; s++) {
    const v = s < sectors ? sectorValue(s) : null;
    if (v !== prev) {
      if (prev !== null) runs.push(`sectors ${start}-${s - 1}: ${name(prev)}`);
      prev = v;
      start = s;
    }
  }
  return runs;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const bytes = await readFile(process.argv[2]!);
  process.stdout.write(`${sectorRuns(bytes).join('\n')}\n`);
}
