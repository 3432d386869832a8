// A seeded pseudo-random generator (mulberry32) so a failing run can be replayed: DMSIM_SEED=N.

export interface Rng {
  readonly seed: number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** True with probability p. */
  chance(p: number): boolean;
}

export function seededRng(label: string): Rng {
  const fromEnv = process.env.DMSIM_SEED;
  const seed = fromEnv !== undefined && fromEnv !== '' ? Number(fromEnv) >>> 0 : (Math.random() * 2 ** 32) >>> 0;
  let a = seed;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  process.stdout.write(`${label}: seed ${seed} (replay with DMSIM_SEED=${seed})\n`);
  return { seed, int: (n) => Math.floor(next() * n), chance: (p) => next() < p };
}
