// The snapshot inspector's model: a persistent COW's header, its exception table, the layout of its chunks and
// how the status line follows from them (dm-snap-persistent.c persistent_usage, dm-snap.c snapshot_status).
// One model for a live snapshot (in-core table, pending copies marked) and for a COW image read from a file
// (what the kernel's read_exceptions would find), so both print the same for the same store.

import { InvalidArgumentError } from '../../src/base/errors.js';
import { SECTOR_SIZE } from '../../src/base/size.js';
import {
  cowGeometry,
  HEADER_CHUNKS,
  persistentUsage,
  readAreaRecord,
  readCowHeader,
  SNAP_MAGIC,
  SNAPSHOT_DISK_VERSION,
} from './persistent-store.js';
import type { SnapshotStatus, SnapshotStoreType } from './status.js';

/** committed: in the table (on disk for P); copying: its kcopyd copy is in flight; pending: allocated, not started. */
type ExceptionState = 'committed' | 'copying' | 'pending';

export interface InspectedException {
  oldChunk: number;
  newChunk: number;
  state: ExceptionState;
}

/** One run of the COW's chunks: the header, a metadata area, data chunks (committed or being copied), free chunks. */
export interface LayoutRun {
  kind: 'header' | 'metadata' | 'data' | 'copying' | 'free';
  first: number;
  count: number;
}

export interface SnapshotInspection {
  kind: 'snapshot';
  store: SnapshotStoreType;
  /** The header as on disk (P/PO); null for a transient store or a COW that has none yet (magic 0). */
  header: { magic: number; valid: boolean; version: number; chunkSectors: number } | null;
  cowSectors: number;
  chunkSectors: number;
  /** Chunks of the COW (the last partial chunk is never used). */
  cowChunks: number;
  /** Records per metadata area (P/PO), null for N. */
  exceptionsPerArea: number | null;
  /** The area new records go into, and how many it holds. */
  currentArea: number;
  currentRecords: number;
  /** The chunk the next exception gets. */
  nextFree: number;
  exceptions: InspectedException[];
  layout: LayoutRun[];
  status: SnapshotStatus;
  /** How each status field is computed, one line each. */
  explain: string[];
}

/** The most exceptions a live inspection sends (a 1 GiB COW of 4 KiB chunks holds 260000). */
const MAX_EXCEPTIONS = 20000;

interface StoreFacts {
  store: SnapshotStoreType;
  header: SnapshotInspection['header'];
  cowSectors: number;
  chunkSectors: number;
  currentArea: number;
  currentRecords: number;
  nextFree: number;
  exceptions: InspectedException[];
  /** null: active; otherwise the state word status prints instead of the usage. */
  state: Exclude<SnapshotStatus['state'], 'active'> | null;
}

/** Fills in the geometry, layout, status and its explanation from the store's facts. */
export function snapshotInspection(f: StoreFacts): SnapshotInspection {
  const c = f.chunkSectors;
  const persistent = f.store !== 'N';
  const geometry = persistent ? cowGeometry(c) : null;
  const cowChunks = Math.floor(f.cowSectors / c);
  const exceptions = [...f.exceptions].sort((a, b) => a.newChunk - b.newChunk);
  const usage = persistent
    ? persistentUsage(c, f.nextFree, f.currentArea, f.cowSectors)
    : { sectorsAllocated: f.nextFree * c, metadataSectors: 0 };
  const allocated = usage.sectorsAllocated;
  const metadata = usage.metadataSectors;
  const status: SnapshotStatus =
    f.state === null
      ? { state: 'active', allocatedSectors: allocated, totalSectors: f.cowSectors, metadataSectors: metadata }
      : { state: f.state };
  const areas = f.currentArea === 0 ? 'area 0' : `areas 0-${f.currentArea}`;
  const explain = [
    persistent
      ? `allocated ${allocated} = next free chunk ${f.nextFree} x ${c}: every chunk below it is in use`
      : `allocated ${allocated} = next free chunk ${f.nextFree} x ${c}: data chunks from chunk 0`,
    `total ${f.cowSectors} = the COW's size in sectors`,
    persistent
      ? `metadata ${metadata} = (header + ${areas}: ${f.currentArea + 2} chunks) x ${c}`
      : 'metadata 0 = a transient store keeps its table in memory',
  ];
  if (f.state !== null) explain.unshift(`status says ${stateWord(f.state)} instead of the usage`);
  return {
    kind: 'snapshot',
    store: f.store,
    header: f.header,
    cowSectors: f.cowSectors,
    chunkSectors: c,
    cowChunks,
    exceptionsPerArea: geometry?.exceptionsPerArea ?? null,
    currentArea: f.currentArea,
    currentRecords: f.currentRecords,
    nextFree: f.nextFree,
    exceptions: exceptions.slice(0, MAX_EXCEPTIONS),
    layout: layoutRuns(cowChunks, persistent ? f.currentArea : -1, geometry, exceptions),
    status,
    explain,
  };
}

function stateWord(state: Exclude<SnapshotStatus['state'], 'active'>): string {
  return state === 'invalid' ? 'Invalid' : state === 'overflow' ? 'Overflow' : 'Merge failed';
}

/** Chunk by chunk: header, areas 0..currentArea, data chunks that hold an exception, and the rest free. */
function layoutRuns(
  cowChunks: number,
  currentArea: number,
  geometry: ReturnType<typeof cowGeometry> | null,
  exceptions: readonly InspectedException[],
): LayoutRun[] {
  const kinds = new Map<number, LayoutRun['kind']>();
  if (geometry) {
    kinds.set(0, 'header');
    for (let k = 0; k <= currentArea; k++) kinds.set(geometry.areaLocation(k), 'metadata');
  }
  for (const e of exceptions) kinds.set(e.newChunk, e.state === 'committed' ? 'data' : 'copying');
  const runs: LayoutRun[] = [];
  // Only the chunks that are not free are visited, so a huge COW costs what its table costs.
  const used = [...kinds.keys()].filter((k) => k < cowChunks).sort((a, b) => a - b);
  let at = 0;
  const push = (kind: LayoutRun['kind'], first: number, count: number): void => {
    const last = runs.at(-1);
    if (last && last.kind === kind && last.first + last.count === first) last.count += count;
    else runs.push({ kind, first, count });
  };
  for (const chunk of used) {
    if (chunk > at) push('free', at, chunk - at);
    push(kinds.get(chunk)!, chunk, 1);
    at = chunk + 1;
  }
  if (at < cowChunks) push('free', at, cowChunks - at);
  return runs;
}

/** What decodeCow reads a COW image through (a BlockDevice will do). */
export interface ImageReader {
  readonly sizeSectors: number;
  read(sector: number, buf: Buffer): Promise<void>;
}

/**
 * Reads a persistent COW as the kernel's read_exceptions would at activation: the header, then the areas from
 * area 0 until one is not full. A COW with magic 0 has no store yet (the kernel would write a fresh one).
 */
export async function decodeCow(image: ImageReader, name: string): Promise<SnapshotInspection> {
  if (image.sizeSectors < 1) throw new InvalidArgumentError(`${name}: empty, not a snapshot COW`);
  const first = Buffer.alloc(SECTOR_SIZE);
  await image.read(0, first);
  const h = readCowHeader(first);
  if (h.magic === 0) {
    return snapshotInspection({
      store: 'P',
      header: null,
      cowSectors: image.sizeSectors,
      chunkSectors: h.chunkSize || 32,
      currentArea: 0,
      currentRecords: 0,
      nextFree: HEADER_CHUNKS + 1,
      exceptions: [],
      state: null,
    });
  }
  if (h.magic !== SNAP_MAGIC) {
    throw new InvalidArgumentError(
      `${name}: not a snapshot COW (magic 0x${h.magic.toString(16).padStart(8, '0')}, a COW has "SnAp" 0x${SNAP_MAGIC.toString(16)})`,
    );
  }
  const c = h.chunkSize;
  if (c === 0 || (c & (c - 1)) !== 0 || c * SECTOR_SIZE > 0x7fffffff) {
    throw new InvalidArgumentError(`${name}: the COW header's chunk size ${c} is not a power of 2 the kernel accepts`);
  }
  const header = { magic: h.magic, valid: h.valid, version: h.version, chunkSectors: c };
  const g = cowGeometry(c);
  const exceptions: InspectedException[] = [];
  let nextFree = HEADER_CHUNKS + 1;
  let area = 0;
  let records = 0;
  const buf = Buffer.alloc(c * SECTOR_SIZE);
  // An unknown version is refused by the kernel before any area is read; so is nothing decoded here.
  for (; h.version === SNAPSHOT_DISK_VERSION; area++) {
    const at = g.areaLocation(area);
    if ((at + 1) * c > image.sizeSectors) break; // the image ends: the kernel would fail the read
    await image.read(at * c, buf);
    for (records = 0; records < g.exceptionsPerArea; records++) {
      const r = readAreaRecord(buf, records);
      if (r.newChunk === 0) break;
      nextFree = Math.max(nextFree, r.newChunk + 1);
      exceptions.push({ ...r, state: 'committed' });
    }
    if (records < g.exceptionsPerArea) break;
  }
  return snapshotInspection({
    store: 'P',
    header,
    cowSectors: image.sizeSectors,
    chunkSectors: c,
    currentArea: area,
    currentRecords: records,
    nextFree: g.skipMetadata(nextFree),
    exceptions,
    state: h.valid ? null : 'invalid',
  });
}
