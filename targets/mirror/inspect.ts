// The mirror inspector's model: the disk log's header and clean bits as on disk (drivers/md/dm-log.c's
// log_header_disklog and clean_bits), next to the in-core region states (dm-region-hash.c) and the marks and
// clears the log holds in core until its next flush. One model for a live mirror and for a log image read
// from a file (what the kernel's disk_resume would find), so both print the same for the same bytes.

import { InvalidArgumentError } from '../../src/base/errors.js';
import { SECTOR_SIZE } from '../../src/base/size.js';
import { LOG_BITS_OFFSET, MIRROR_DISK_VERSION, MIRROR_MAGIC } from './disk-log.js';
import { RegionBitset } from './region-bitset.js';
import type { RegionStateName } from './region-hash.js';

interface DiskLogHeader {
  magic: number;
  version: number;
  /** le64 nr_regions, as a decimal string: LVM's initial header holds 2^64-1. */
  nrRegions: string;
}

/**
 * A run of consecutive regions that look alike. `disk` is the clean bit on the log device (null: no disk log);
 * the rest is the in-core view (null for an image): the log's clean and sync bits, the region hash's state
 * and its writes in flight.
 */
export interface RegionRun {
  first: number;
  count: number;
  disk: boolean | null;
  clean: boolean | null;
  inSync: boolean | null;
  state: RegionStateName | null;
  pendingWrites: number;
}

export interface MirrorInspection {
  kind: 'mirror';
  log: 'core' | 'disk';
  /** The header as on the log device; null for a core log. */
  header: DiskLogHeader | null;
  /** Regions (null when an image's header does not say how many: LVM's 2^64-1). */
  regionCount: number | null;
  regionSectors: number | null;
  /** The in-sync count status prints (for an image: what a resume would count, one per clean bit). */
  inSync: number | null;
  regions: RegionRun[];
  /** In-core changes to the clean bits not yet on the log device (written at the next flush). */
  pendingMarks: { dirtied: number[]; cleaned: number[] };
  explain: string[];
}

/** The header and clean bits of a disk log buffer (the first sectors of the log device). */
function decodeDiskLog(
  buf: Buffer,
  name: string,
): { header: DiskLogHeader; regionCount: number | null; bits: RegionBitset | null } {
  if (buf.length < SECTOR_SIZE)
    throw new InvalidArgumentError(`${name}: shorter than one sector, not a mirror disk log`);
  const header = {
    magic: buf.readUInt32LE(0),
    version: buf.readUInt32LE(4),
    nrRegions: buf.readBigUInt64LE(8).toString(),
  };
  if (header.magic !== MIRROR_MAGIC) {
    throw new InvalidArgumentError(
      `${name}: not a mirror disk log (magic 0x${header.magic.toString(16).padStart(8, '0')}, a disk log has "MiRr" 0x${MIRROR_MAGIC.toString(16)})`,
    );
  }
  const n = BigInt(header.nrRegions);
  const fits = n <= BigInt(Math.max(0, buf.length - LOG_BITS_OFFSET) * 8);
  if (!fits) return { header, regionCount: null, bits: null };
  const regionCount = Number(n);
  const bits = new RegionBitset(buf.subarray(LOG_BITS_OFFSET, LOG_BITS_OFFSET + RegionBitset.byteSize(regionCount)));
  return { header, regionCount, bits };
}

/** Inspects a disk log image: the bits as a resume would take them (sync bits = clean bits). */
export function inspectDiskLogImage(buf: Buffer, name: string): MirrorInspection {
  const { header, regionCount, bits } = decodeDiskLog(buf, name);
  const explain = headerNotes(header);
  if (regionCount === null || bits === null) {
    explain.push(`nr_regions ${header.nrRegions}: more bits than the image holds; the table's count rules`);
    return {
      kind: 'mirror',
      log: 'disk',
      header,
      regionCount: null,
      regionSectors: null,
      inSync: null,
      regions: [],
      pendingMarks: { dirtied: [], cleaned: [] },
      explain,
    };
  }
  let clean = 0;
  for (let r = 0; r < regionCount; r++) if (bits.test(r)) clean++;
  explain.push(`in-sync ${clean}/${regionCount} = clean bits set: a resume takes each sync bit from one`);
  return {
    kind: 'mirror',
    log: 'disk',
    header,
    regionCount,
    regionSectors: null,
    inSync: clean,
    regions: regionRuns(regionCount, (r) => ({
      disk: bits.test(r),
      clean: null,
      inSync: null,
      state: null,
      pendingWrites: 0,
    })),
    pendingMarks: { dirtied: [], cleaned: [] },
    explain,
  };
}

function headerNotes(h: DiskLogHeader): string[] {
  if (h.version === MIRROR_DISK_VERSION) return [];
  if (h.version === 1) return ['version 1: a little-endian kernel reads it as version 2'];
  return [`version ${h.version}: the kernel refuses it ("incompatible disk log version") and fails the log (D)`];
}

/** What a live mirror knows of one region. */
type RegionFacts = Omit<RegionRun, 'first' | 'count'>;

/** Groups regions 0..count-1 into runs of equal facts. */
function regionRuns(count: number, facts: (region: number) => RegionFacts): RegionRun[] {
  const runs: RegionRun[] = [];
  for (let r = 0; r < count; r++) {
    const f = facts(r);
    const last = runs.at(-1);
    if (
      last &&
      last.disk === f.disk &&
      last.clean === f.clean &&
      last.inSync === f.inSync &&
      last.state === f.state &&
      last.pendingWrites === f.pendingWrites
    )
      last.count++;
    else runs.push({ first: r, count: 1, ...f });
  }
  return runs;
}

/** What a live mirror hands the inspector. */
export interface LiveMirrorFacts {
  log: 'core' | 'disk';
  /** The disk log's buffer as read from the log device (null for a core log, or when the read failed). */
  onDisk: Buffer | null;
  logName: string;
  regionCount: number;
  regionSectors: number;
  syncCount: number;
  region(r: number): Omit<RegionFacts, 'disk'>;
}

export function inspectLiveMirror(m: LiveMirrorFacts): MirrorInspection {
  const decoded = m.onDisk ? decodeDiskLog(m.onDisk, m.logName) : null;
  const diskBits = decoded?.regionCount === m.regionCount ? decoded.bits : null;
  const dirtied: number[] = [];
  const cleaned: number[] = [];
  const regions = regionRuns(m.regionCount, (r) => {
    const f = m.region(r);
    const disk = diskBits ? diskBits.test(r) : null;
    if (disk !== null && f.clean !== disk) (f.clean ? cleaned : dirtied).push(r);
    return { disk, ...f };
  });
  const explain = decoded ? headerNotes(decoded.header) : [];
  if (m.log === 'disk' && decoded && !diskBits)
    explain.push(
      `the header on disk says ${decoded.header.nrRegions} regions, the table ${m.regionCount}: resume rewrites it`,
    );
  explain.push(
    `in-sync ${m.syncCount}/${m.regionCount}: regions whose sync bit is set (set when a resync copy or a clean resume says so) / ceil(length / region size ${m.regionSectors})`,
  );
  return {
    kind: 'mirror',
    log: m.log,
    header: decoded?.header ?? null,
    regionCount: m.regionCount,
    regionSectors: m.regionSectors,
    inSync: m.syncCount,
    regions,
    pendingMarks: { dirtied, cleaned },
    explain,
  };
}
