// A byte-array reference model of one kcopyd job, written from reference/kcopyd.md and the oracle's
// fixtures/kcopyd/read-error-zero-fill.* (not from the engine): the job is cut into chunks of subJobSectors
// (one chunk when count <= subJobSectors), handed out in ascending order. A chunk's read is one bio: when it
// fails, the unreadable sectors and every sector after the last unreadable one read as zeros (dm-io zero-fills
// the split bio's last piece), the sectors before hold the data. A chunk whose read failed writes nothing
// unless IGNORE_ERROR. Each destination gets one write per chunk; on these test devices a write touching a
// bad sector writes nothing and sets that destination's bit.
// Without IGNORE_ERROR, a failure stops the hand-out: only a prefix of the chunks runs, and which prefix
// depends on timing, so the model gives every outcome the kernel allows, one per possible prefix.

export const SECTOR = 512;

export interface ModelDevice {
  bytes: Buffer;
  badReads: ReadonlySet<number>;
  badWrites: ReadonlySet<number>;
}

export interface ModelJob {
  /** null: a zero job. */
  source: { dev: ModelDevice; sector: number } | null;
  dests: { dev: ModelDevice; sector: number }[];
  count: number;
  ignoreError: boolean;
  subJobSectors: number;
}

export interface ModelOutcome {
  /** Chunks handed out. */
  handedOut: number;
  readErr: boolean;
  writeErr: number;
  /** Final bytes of every destination device, in job.dests order. */
  dests: Buffer[];
}

interface ChunkResult {
  readFailed: boolean;
  /** Per destination: what lands (absolute sector and data). */
  writes: { sector: number; data: Buffer }[][];
  writeBits: number;
}

function hasBad(set: ReadonlySet<number>, sector: number, count: number): boolean {
  for (let s = sector; s < sector + count; s++) if (set.has(s)) return true;
  return false;
}

function runChunk(job: ModelJob, offset: number, length: number): ChunkResult {
  const data = Buffer.alloc(length * SECTOR);
  let readFailed = false;
  if (job.source) {
    const first = job.source.sector + offset;
    job.source.dev.bytes.copy(data, 0, first * SECTOR, (first + length) * SECTOR);
    let lastBad = -1;
    for (let i = 0; i < length; i++) {
      if (job.source.dev.badReads.has(first + i)) {
        data.fill(0, i * SECTOR, (i + 1) * SECTOR);
        lastBad = i;
      }
    }
    if (lastBad >= 0) {
      readFailed = true;
      data.fill(0, (lastBad + 1) * SECTOR);
    }
  }
  const writes: { sector: number; data: Buffer }[][] = job.dests.map(() => []);
  let writeBits = 0;
  if (readFailed && !job.ignoreError) return { readFailed, writes, writeBits };
  job.dests.forEach((d, j) => {
    const first = d.sector + offset;
    if (hasBad(d.dev.badWrites, first, length)) writeBits |= 1 << j;
    else writes[j]!.push({ sector: first, data });
  });
  return { readFailed, writes, writeBits: writeBits >>> 0 };
}

/** Every outcome the kernel allows for this job (one when nothing fails or errors are ignored). */
export function modelOutcomes(job: ModelJob): ModelOutcome[] {
  const chunkSize = job.count <= job.subJobSectors ? Math.max(job.count, 1) : job.subJobSectors;
  const chunks: ChunkResult[] = [];
  for (let off = 0; off < job.count; off += chunkSize)
    chunks.push(runChunk(job, off, Math.min(chunkSize, job.count - off)));
  const failed = (c: ChunkResult): boolean => c.readFailed || c.writeBits !== 0;
  const firstFailure = chunks.findIndex(failed);
  const prefixes: number[] = [];
  if (job.ignoreError || firstFailure < 0) prefixes.push(chunks.length);
  else for (let h = firstFailure + 1; h <= chunks.length; h++) prefixes.push(h);

  return prefixes.map((h) => {
    const dests = job.dests.map((d) => Buffer.from(d.dev.bytes));
    let readErr = false;
    let writeErr = 0;
    for (const c of chunks.slice(0, h)) {
      readErr ||= c.readFailed;
      writeErr |= c.writeBits;
      c.writes.forEach((list, j) => {
        for (const w of list) w.data.copy(dests[j]!, w.sector * SECTOR);
      });
    }
    return { handedOut: h, readErr, writeErr: writeErr >>> 0, dests };
  });
}
