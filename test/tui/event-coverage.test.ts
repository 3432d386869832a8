// Every event kind the engine declares (DmEventMap augmentations in src/ and targets/) has a place in the
// store. A new kind still reaches the log without one; this test says which kinds the TUI has not learnt.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { handledKinds } from '../../tui/store/reduce.js';

const root = resolve(import.meta.dirname, '../..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? sources(p) : p.endsWith('.ts') ? [p] : [];
  });
}

function declaredKinds(): string[] {
  const kinds = new Set<string>();
  for (const file of [...sources(join(root, 'src')), ...sources(join(root, 'targets'))]) {
    const text = readFileSync(file, 'utf8');
    for (const block of text.matchAll(/interface DmEventMap \{([\s\S]*?)\n {0,2}\}/g)) {
      for (const m of block[1]!.matchAll(/^\s*'([a-z][\w.-]*)'\s*:/gm)) kinds.add(m[1]!);
    }
  }
  return [...kinds].sort();
}

describe('event coverage', () => {
  it('finds the engine event kinds and handles each of them', () => {
    const declared = declaredKinds();
    expect(declared).toEqual(
      expect.arrayContaining(['io.error', 'kcopyd.job', 'dm.created', 'mirror.region', 'snapshot.invalidated']),
    );
    const handled = new Set(handledKinds());
    expect(declared.filter((k) => !handled.has(k))).toEqual([]);
  });
});
