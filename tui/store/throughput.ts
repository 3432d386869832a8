// Read, write and copy rates: bytes are added to an open time bucket; when time passes the bucket's end the
// bucket closes into the history as bytes per second (empty buckets in a gap count as zero).

import type { RateKind, ThroughputView } from './view-state.js';

export function addBytes(t: ThroughputView, kind: RateKind, bytes: number, time: number): ThroughputView {
  const rolled = advance(t, time);
  return {
    ...rolled,
    pending: { ...rolled.pending, [kind]: rolled.pending[kind] + bytes },
    totals: { ...rolled.totals, [kind]: rolled.totals[kind] + bytes },
  };
}

/** Closes every bucket that ended at or before `time`. */
export function advance(t: ThroughputView, time: number): ThroughputView {
  if (time < t.bucketStart + t.bucketMs) return t;
  const closed = Math.floor((time - t.bucketStart) / t.bucketMs);
  const perSecond = 1000 / t.bucketMs;
  const history = { ...t.history };
  for (const kind of Object.keys(history) as RateKind[]) {
    const added = [t.pending[kind] * perSecond, ...new Array<number>(Math.min(closed - 1, t.historyLength)).fill(0)];
    history[kind] = [...history[kind], ...added].slice(-t.historyLength);
  }
  return { ...t, history, pending: { read: 0, write: 0, copy: 0 }, bucketStart: t.bucketStart + closed * t.bucketMs };
}

/** The latest closed rate of a kind, bytes per second (0 before the first bucket closes). */
export function currentRate(t: ThroughputView, kind: RateKind): number {
  const h = t.history[kind];
  return h.length > 0 ? h[h.length - 1]! : 0;
}
