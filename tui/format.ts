// Text gauges for the panels: sizes, rates, progress bars and sparklines. Plain characters only, so every
// panel reads the same with or without colour.

const UNITS = ['B', 'K', 'M', 'G', 'T'];

/** 1536 -> "1.5K", 64 MiB -> "64M" (binary units, as dmsim's size words). */
export function humanBytes(bytes: number): string {
  let v = bytes;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  const text = v >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(1);
  return `${text}${UNITS[u]}`;
}

export function humanSectors(sectors: number): string {
  return humanBytes(sectors * 512);
}

/** A bar of `width` cells: `#` for the filled part, `.` for the rest. */
export function bar(fraction: number, width: number): string {
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const filled = Math.round(f * width);
  return '#'.repeat(filled) + '.'.repeat(Math.max(0, width - filled));
}

const SPARKS = ['_', '▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/** The last `width` values as a sparkline scaled to their own maximum (`_` is zero). */
export function sparkline(values: readonly number[], width: number): string {
  const tail = values.slice(-width);
  const max = Math.max(0, ...tail);
  const line = tail.map((v) =>
    max <= 0 || v <= 0 ? SPARKS[0] : SPARKS[Math.max(1, Math.round((v / max) * (SPARKS.length - 1)))],
  );
  return line.join('').padStart(width, ' ');
}

/** Cuts text to width, marking the cut with `~`. */
export function fit(text: string, width: number): string {
  if (width <= 0) return '';
  return text.length <= width ? text : `${text.slice(0, Math.max(0, width - 1))}~`;
}

/** hh:mm:ss of a millisecond timestamp, in UTC so recordings replay the same. */
export function clock(time: number): string {
  return new Date(time).toISOString().slice(11, 19);
}

/**
 * Text wrapped at width columns: its own line breaks kept, each line broken at the last space that fits, a
 * word longer than the width cut into pieces. Nothing is dropped.
 */
export function wrap(text: string, width: number): string[] {
  const out: string[] = [];
  for (const para of text.split('\n')) {
    let line = para;
    while (line.length > width) {
      const space = line.lastIndexOf(' ', width);
      const cut = space > 0 ? space : width;
      out.push(line.slice(0, cut).trimEnd());
      line = line.slice(space > 0 ? cut + 1 : cut);
    }
    out.push(line);
  }
  return out;
}
