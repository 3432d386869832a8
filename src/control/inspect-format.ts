// The inspector's text: a snapshot store, a mirror log and kcopyd clients as `dmsim inspect` prints them and
// the TUI's inspector shows them (the same lines on both sides, as dmsetup-format.ts is for dmsetup's replies).
// `rows` bounds the long lists (exceptions, region runs, jobs) so a view fits its screen; the CLI shows all.

import type { ImageInspection } from '../../targets/inspect-image.js';
import type { MirrorInspection, RegionRun } from '../../targets/mirror/inspect.js';
import type { LayoutRun, SnapshotInspection } from '../../targets/snapshot/inspect.js';
import { formatSnapshotStatus } from '../../targets/snapshot/status.js';
import type { InspectedTarget } from '../dm/device-mapper-core.js';
import type { InspectedJob, KcopydClientInspection } from '../kcopyd/types.js';

export interface InspectFormat {
  /** Columns to fit (80 on a small terminal). */
  width: number;
  /** Most rows of each list; Infinity shows every entry. */
  rows: number;
}

export const FULL_FORMAT: InspectFormat = { width: 80, rows: Number.POSITIVE_INFINITY };

/** `dmsim inspect NAME`: each target's line, then what it shows. */
export function formatDeviceInspection(name: string, targets: readonly InspectedTarget[], f: InspectFormat): string[] {
  const lines: string[] = [];
  if (targets.length === 0) lines.push(`${name}: no live table`);
  for (const t of targets) {
    lines.push(`${name}: ${t.start} ${t.length} ${t.target}`);
    const i = t.inspection;
    if (i === null) {
      lines.push(`  (a ${t.target} target keeps nothing to inspect)`);
      continue;
    }
    if (i.kind === 'snapshot') lines.push(...formatSnapshotInspection(i as unknown as SnapshotInspection, f));
    else if (i.kind === 'mirror') lines.push(...formatMirrorInspection(i as unknown as MirrorInspection, f));
    for (const c of i.kcopyd) lines.push(...formatKcopydClient(c, f));
  }
  return lines;
}

const LAYOUT_CHARS: Record<LayoutRun['kind'], string> = {
  header: 'H',
  metadata: 'M',
  copying: 'c',
  data: 'D',
  free: '.',
};
/** When one character stands for several chunks, the most telling kind wins. */
const LAYOUT_PRIORITY: LayoutRun['kind'][] = ['header', 'metadata', 'copying', 'data', 'free'];

function hex32(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

function ascii(n: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(n >>> 0);
  return [...b].map((c) => (c >= 0x20 && c < 0x7f ? String.fromCharCode(c) : '.')).join('');
}

/** Items laid out in columns of `cell` characters, at most `rows` lines (the rest counted). */
function columns(items: string[], cell: number, f: InspectFormat, indent = '  '): string[] {
  const perLine = Math.max(1, Math.floor((f.width - indent.length) / cell));
  const lines: string[] = [];
  for (let i = 0; i < items.length; i += perLine) {
    if (lines.length >= f.rows) {
      lines.push(`${indent}... ${items.length - i} more`);
      break;
    }
    lines.push(
      indent +
        items
          .slice(i, i + perLine)
          .map((s) => s.padEnd(cell))
          .join('')
          .trimEnd(),
    );
  }
  return lines;
}

/** One character per chunk, or per group of chunks when the COW has more chunks than the strip has room for. */
function layoutStrip(s: SnapshotInspection, width: number): { strip: string; per: number } {
  const per = Math.max(1, Math.ceil(s.cowChunks / width));
  const cells = Math.ceil(s.cowChunks / per);
  const best = new Array<number>(cells).fill(LAYOUT_PRIORITY.length - 1);
  for (const run of s.layout) {
    const rank = LAYOUT_PRIORITY.indexOf(run.kind);
    for (let c = Math.floor(run.first / per); c <= Math.floor((run.first + run.count - 1) / per); c++)
      if (rank < best[c]!) best[c] = rank;
  }
  return { strip: best.map((r) => LAYOUT_CHARS[LAYOUT_PRIORITY[r]!]).join(''), per };
}

function chunkRange(r: LayoutRun): string {
  return r.count === 1 ? `${r.first}` : `${r.first}-${r.first + r.count - 1}`;
}

function formatSnapshotInspection(s: SnapshotInspection, f: InspectFormat): string[] {
  const c = s.chunkSectors;
  const lines: string[] = [];
  lines.push(`  store ${s.store}, chunk ${c} sectors, COW ${s.cowSectors} sectors = ${s.cowChunks} chunks`);
  if (s.header)
    lines.push(
      `  header   magic ${hex32(s.header.magic)} (bytes "${ascii(s.header.magic)}")  valid ${s.header.valid ? 1 : 0}  version ${s.header.version}  chunk_size ${s.header.chunkSectors}`,
    );
  else if (s.store === 'N') lines.push('  header   none (a transient store writes nothing but data)');
  else lines.push('  header   none yet (magic 0: activation writes a fresh store)');
  if (s.exceptionsPerArea !== null)
    lines.push(
      `  areas    ${s.exceptionsPerArea} records each, area k at chunk 1+${s.exceptionsPerArea + 1}k; area ${s.currentArea} holds ${s.currentRecords}`,
    );
  lines.push(`  next free chunk ${s.nextFree}`);
  lines.push(`  status ${formatSnapshotStatus(s.status)}`);
  for (const e of s.explain) lines.push(`    ${e}`);
  const { strip, per } = layoutStrip(s, f.width - 12);
  lines.push(`  layout   ${strip}`);
  lines.push(`           ${per > 1 ? `1 char = ${per} chunks; ` : ''}H header M area D data c copying . free`);
  const runs = s.layout.map((r) => `${chunkRange(r)} ${r.kind}`);
  lines.push(...columns(runs, 20, { ...f, rows: Math.min(f.rows, 2) }, '    '));
  const marks = { committed: '', copying: ' c', pending: ' p' } as const;
  lines.push(`  exceptions ${s.exceptions.length} (origin chunk -> COW chunk; c copying, p pending)`);
  lines.push(
    ...columns(
      s.exceptions.map((e) => `${String(e.oldChunk).padStart(6)} -> ${e.newChunk}${marks[e.state]}`),
      19,
      f,
    ),
  );
  return lines;
}

const STATE_CHARS = { clean: 'C', dirty: 'D', nosync: 'N', recovering: 'R' } as const;

function bitStrip(runs: readonly RegionRun[], width: number, char: (r: RegionRun) => string): string {
  let out = '';
  for (const r of runs) {
    if (out.length >= width) break;
    out += char(r).repeat(Math.min(r.count, width - out.length));
  }
  return out;
}

function regionRange(r: RegionRun): string {
  return r.count === 1 ? `${r.first}` : `${r.first}-${r.first + r.count - 1}`;
}

function yesNo(b: boolean | null): string {
  return b === null ? '-' : b ? '1' : '0';
}

function formatMirrorInspection(m: MirrorInspection, f: InspectFormat): string[] {
  const lines: string[] = [];
  const size = m.regionSectors !== null ? ` of ${m.regionSectors} sectors` : '';
  lines.push(`  log ${m.log}, ${m.regionCount ?? '?'} regions${size}`);
  if (m.header)
    lines.push(
      `  header   magic ${hex32(m.header.magic)} (bytes "${ascii(m.header.magic)}")  version ${m.header.version}  nr_regions ${m.header.nrRegions}`,
    );
  else if (m.log === 'core') lines.push('  header   none (a core log lives in memory)');
  const n = m.regionCount ?? 0;
  const stripWidth = f.width - 12;
  const more = n > stripWidth ? ` +${n - stripWidth}` : '';
  if (m.header && m.regions.length > 0)
    lines.push(`  on disk  ${bitStrip(m.regions, stripWidth, (r) => yesNo(r.disk))}${more}`);
  if (m.regions.some((r) => r.state !== null))
    lines.push(`  in core  ${bitStrip(m.regions, stripWidth, (r) => (r.state ? STATE_CHARS[r.state] : '?'))}${more}`);
  lines.push('           on disk: 1 clean 0 dirty; in core: C clean D dirty N nosync R recovering');
  const rows = m.regions.map(
    (r) =>
      `  ${regionRange(r).padEnd(14)}${yesNo(r.disk).padEnd(6)}${yesNo(r.clean).padEnd(7)}${yesNo(r.inSync).padEnd(6)}${(r.state ?? '-').padEnd(12)}${r.pendingWrites}`,
  );
  lines.push(
    `  ${'regions'.padEnd(14)}${'disk'.padEnd(6)}${'clean'.padEnd(7)}${'sync'.padEnd(6)}${'state'.padEnd(12)}writes`,
  );
  lines.push(...rows.slice(0, f.rows));
  if (rows.length > f.rows) lines.push(`  ... ${rows.length - f.rows} more runs`);
  const list = (rs: number[]): string => (rs.length === 0 ? 'none' : rs.join(' '));
  if (m.log === 'disk' && m.regions.some((r) => r.clean !== null))
    lines.push(
      `  pending marks (in core, not yet on disk): dirtied ${list(m.pendingMarks.dirtied)}; cleaned ${list(m.pendingMarks.cleaned)}`,
    );
  if (m.inSync !== null) lines.push(`  status in-sync ${m.inSync}/${m.regionCount}`);
  for (const e of m.explain) lines.push(`    ${e}`);
  return lines;
}

function describeJob(j: InspectedJob): string {
  const who = j.master === j.id ? `job ${j.id}` : `sub-job ${j.id} of job ${j.master} (slot ${j.slot})`;
  if (j.kind === 'callback') return `${who} callback`;
  const what = j.source ? `${j.source} -> ${j.dests.join(' ')}` : `zero ${j.dests.join(' ')}`;
  const errs = j.readErr || j.writeErr ? ` err r${j.readErr ? 1 : 0} w${j.writeErr.toString(2)}` : '';
  return `${who} ${j.op} ${what}${j.pages ? ` ${j.pages}p` : ''}${errs}`;
}

function formatKcopydClient(c: KcopydClientInspection, f: InspectFormat): string[] {
  const p = c.pages;
  const t = c.throttle;
  const lines = [
    `  kcopyd client ${c.id} (${c.owner}): nr_jobs ${c.nrJobs}`,
    `    pages reserve ${p.reserveFree}/${p.reserveTotal} free, shared held ${p.sharedUsed} (all clients ${p.engineSharedUsed}, limit ${p.sharedLimit ?? 'none'})`,
    `    throttle ${t ? `${t.percent}% (io ${t.ioMs} of ${t.totalMs} ms, ${t.inFlight} in flight)` : 'none'}`,
  ];
  for (const list of ['complete', 'pages', 'io', 'callback'] as const) {
    const jobs = c.lists[list];
    const head = `    ${`${list}_jobs`.padEnd(14)}`;
    if (jobs.length === 0) {
      lines.push(`${head}-`);
      continue;
    }
    jobs.slice(0, f.rows).forEach((j, i) => {
      lines.push(`${i === 0 ? head : ' '.repeat(head.length)}${describeJob(j)}`);
    });
    if (jobs.length > f.rows) lines.push(`${' '.repeat(head.length)}... ${jobs.length - f.rows} more`);
  }
  return lines;
}

/** `dmsim inspect FILE`: what the image holds. */
export function formatImageInspection(path: string, i: ImageInspection, f: InspectFormat): string[] {
  if (i.kind === 'snapshot') return [`${path}: snapshot COW`, ...formatSnapshotInspection(i, f)];
  return [`${path}: mirror disk log`, ...formatMirrorInspection(i, f)];
}
