// Soak: `dmsim tui --demo` as `npm start` runs it (no NODE_ENV), on a pseudo-terminal (`script`), sped up (60
// frames a second, pace 0.2) under a capped heap, with --trace-gc. After each full collection V8 prints the
// live heap; once the demo has warmed up, it must stay flat. Paced by collections, not by the clock: a loaded
// machine draws fewer frames, and collects less often. With React's development build (what NODE_ENV unset
// gave before) every render left a PerformanceMeasure behind: the live heap grew by ~5 MB per 100 collections.

import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { describeNeeding, missingTools } from '../support/prerequisites.js';

const root = resolve(import.meta.dirname, '../..');
/** Full collections to watch: the first WARM_UP build the demo's devices and fill the fixed windows. */
const COLLECTIONS = 150;
const WARM_UP = 50;
/** How much the live heap may move between the end of the warm-up and the end (MB, V8's unit in --trace-gc). */
const TOLERANCE_MB = 3;

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

describeNeeding(missingTools('script'), 'the demo TUI left running', () => {
  const work = mkdtempSync(join(tmpdir(), 'dmsim-soak-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('keeps a flat heap under a 48 MB cap', async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: work, NO_COLOR: '1' };
    delete env.NODE_ENV; // vitest sets it to "test"; npm start leaves it unset
    const cmd = `stty cols 160 rows 50; exec ${process.execPath} --max-old-space-size=48 --trace-gc --import tsx src/cli/main.ts tui --demo --fps 60 --pace 0.2`;
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], { cwd: root, env, stdio: ['pipe', 'pipe', 'pipe'] });
    // Live heap after each Mark-Compact, per isolate (tsx's loader thread has its own).
    const live = new Map<string, number[]>();
    let tail = '';
    const mainIsolate = (): number[] => [...live.values()].sort((a, b) => b.length - a.length)[0] ?? [];
    const outcome = await new Promise<'enough' | 'exited'>((done) => {
      child.stdout.on('data', (d: Buffer) => {
        tail = (tail + d.toString()).slice(-20_000);
        for (const m of d
          .toString()
          .matchAll(/\[\d+:(0x[0-9a-f]+)\][^\n]*?Mark-Compact [\d.]+ \([\d.]+\) -> ([\d.]+)/g)) {
          const list = live.get(m[1]!) ?? [];
          list.push(Number(m[2]));
          live.set(m[1]!, list);
        }
        if (mainIsolate().length >= COLLECTIONS) done('enough');
      });
      child.on('close', () => done('exited'));
    });
    const sizes = mainIsolate();
    if (outcome === 'exited')
      expect.fail(`the demo ended after ${sizes.length} full collections:\n${tail.slice(-3000)}`);
    // Quit as a person does, so the demo removes its files.
    const closed = new Promise((r) => child.on('close', r));
    child.stdin.write('q');
    await closed;
    const warm = median(sizes.slice(WARM_UP - 20, WARM_UP));
    const end = median(sizes.slice(-20));
    expect(end - warm, `live heap after full collections: ${sizes.join(' ')}`).toBeLessThan(TOLERANCE_MB);
    expect(readdirSync(work).filter((n) => n.startsWith('dmsim-'))).toEqual([]);
  }, 300_000);
});
