// Seeds for randomized tests (crash tests, property tests): every run plays a fixed list of seeds, the same
// in CI and everywhere, plus one fresh seed that is printed and named in the test, so a run can still find
// something new and any failure can be replayed: DMSIM_SEED=N plays seed N alone.

/** The seeds to play: DMSIM_SEED alone when set; otherwise `fixed` and one fresh seed (printed). */
export function seedsToRun(label: string, fixed: readonly number[]): number[] {
  const fromEnv = process.env.DMSIM_SEED;
  if (fromEnv !== undefined && fromEnv !== '') return [Number(fromEnv) >>> 0];
  const fresh = (Math.random() * 2 ** 32) >>> 0;
  process.stdout.write(`${label}: seeds ${fixed.join(', ')} and fresh seed ${fresh} (replay one with DMSIM_SEED=N)\n`);
  return [...fixed, fresh];
}

/** A seeded pseudo-random generator (mulberry32). */
export interface Rng {
  readonly seed: number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
}

export function seededRng(seed: number): Rng {
  let a = seed;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return { seed, int: (n) => Math.floor(next() * n), chance: (p) => next() < p };
}
