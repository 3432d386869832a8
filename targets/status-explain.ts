// A status line explained: each word named as the kernel documents it (dm-snap.c snapshot_status,
// Documentation/admin-guide/device-mapper/snapshot.rst; dm-raid1.c mirror_status; dm-delay.c), which fields
// changed between two lines, and the engine events that change them, told as a cause ("exception for origin
// chunk 3 prepared in COW chunk 5"). The kernel has no twin: a student reads the docs beside `dmsetup status`.

import type { DmEvent } from '../src/base/events.js';
import { parseTargetStatus } from './status.js';

export interface StatusField {
  /** The kernel documentation's name for the word (sectors_allocated, in_sync, health of leg 1 ...). */
  name: string;
  value: string;
}

export interface FieldChange {
  name: string;
  from: string;
  to: string;
}

/** The named fields of one target's status params (the text after the target type); the words, numbered, for a
 * target without a typed form. */
export function statusFields(target: string, params: string): StatusField[] {
  let typed: ReturnType<typeof parseTargetStatus>;
  try {
    typed = parseTargetStatus(target, params);
  } catch {
    typed = undefined;
  }
  if (typed?.target === 'snapshot' || typed?.target === 'snapshot-merge') {
    if (typed.state !== 'active') return [{ name: 'state', value: params.trim() }];
    return [
      { name: 'sectors_allocated', value: String(typed.allocatedSectors) },
      { name: 'total_sectors', value: String(typed.totalSectors) },
      { name: 'metadata_sectors', value: String(typed.metadataSectors) },
    ];
  }
  if (typed?.target === 'mirror') {
    return [
      { name: 'nr_mirrors', value: String(typed.legs.length) },
      ...typed.legs.map((l, i) => ({ name: `device of leg ${i}`, value: l.device })),
      { name: 'in_sync', value: String(typed.inSyncRegions) },
      { name: 'nr_regions', value: String(typed.totalRegions) },
      ...typed.legs.map((l, i) => ({ name: `health of leg ${i}`, value: l.health })),
      { name: 'log', value: typed.log.type === 'core' ? 'core' : `disk ${typed.log.device}` },
      ...(typed.log.type === 'disk' ? [{ name: 'log health', value: typed.log.health }] : []),
    ];
  }
  if (typed?.target === 'delay') {
    const [reads, writes, flushes] = params.trim().split(/\s+/);
    return [
      { name: 'reads in flight', value: reads ?? '' },
      { name: 'writes in flight', value: writes ?? '' },
      ...(flushes !== undefined ? [{ name: 'flushes in flight', value: flushes }] : []),
    ];
  }
  const words = params.trim() === '' ? [] : params.trim().split(/\s+/);
  return words.map((value, i) => ({ name: `word ${i + 1}`, value }));
}

/** The fields whose value differs between two status params of one target (all of them, by name, when the form
 * changed, e.g. `16/2048 16` to `Invalid`). */
export function changedFields(target: string, from: string, to: string): FieldChange[] {
  const a = statusFields(target, from);
  const b = statusFields(target, to);
  const names = [...new Set([...a, ...b].map((f) => f.name))];
  const value = (fs: StatusField[], name: string): string => fs.find((f) => f.name === name)?.value ?? '-';
  return names.map((name) => ({ name, from: value(a, name), to: value(b, name) })).filter((c) => c.from !== c.to);
}

/** `sectors_allocated 16→24, metadata_sectors 16→24`. */
export function changeSummary(changes: readonly FieldChange[]): string {
  return changes.map((c) => `${c.name} ${c.from}→${c.to}`).join(', ');
}

/** A device and what happened to it, for an event that can change that device's status line. */
export interface StatusCause {
  device: string;
  text: string;
  /** The field moves only at a later event (a resynced region is counted at mirror.sync): read the status then. */
  later?: true;
  /** The origin chunk the cause is about (an exception's). */
  chunk?: number;
  /** Not a cause of its own: it completes the last cause about the same chunk (the copy of a prepared exception). */
  completes?: true;
}

/** ` by kcopyd job 7`, or nothing for an event from before jobs were named. */
function byJob(job: number | undefined): string {
  return job === undefined ? '' : ` by kcopyd job ${job}`;
}

/** What an event did to its device's status, or undefined for an event that changes no status field. */
export function statusCause(e: DmEvent): StatusCause | undefined {
  switch (e.type) {
    case 'snapshot.exception.allocated':
      return {
        device: e.device,
        chunk: e.oldChunk,
        text: `exception for origin chunk ${e.oldChunk} prepared in COW chunk ${e.newChunk} (${e.cause.replace('-', ' ')})`,
      };
    case 'snapshot.copy.started':
      // The job id comes with the copy, so the history names it without following kcopyd's events.
      return e.job === undefined
        ? undefined
        : { device: e.device, chunk: e.oldChunk, completes: true, text: `its COW copy is kcopyd job ${e.job}` };
    case 'snapshot.exception.committed':
      return e.success
        ? undefined
        : { device: e.device, text: `the exception for origin chunk ${e.oldChunk} could not be committed` };
    case 'snapshot.invalidated':
      return { device: e.device, text: e.reason };
    case 'snapshot.overflow':
      return { device: e.device, text: 'the COW is full: the snapshot overflowed (snapshot writes now fail)' };
    case 'snapshot.merge.progress':
      return {
        device: e.device,
        text: `merged ${e.chunks} chunk${e.chunks === 1 ? '' : 's'} back to origin chunk ${e.firstOldChunk}${e.chunks > 1 ? `..${e.firstOldChunk + e.chunks - 1}` : ''}${byJob(e.job)} and cleared their exceptions`,
      };
    case 'snapshot.merge.state':
      return e.state === 'failed' ? { device: e.device, text: `the merge failed: ${e.reason}` } : undefined;
    case 'mirror.recovery':
      if (e.phase !== 'end') return undefined;
      return {
        device: e.device,
        later: true,
        text: e.ok
          ? `region ${e.region} resynced from leg ${e.source}${byJob(e.job)}`
          : `the resync of region ${e.region}${byJob(e.job)} failed (read_err=${e.readErr ? 1 : 0} write_err=0x${((e.writeErr ?? 0) >>> 0).toString(16)})`,
      };
    case 'mirror.sync':
      return { device: e.device, text: '' }; // in_sync moved: the region's own cause came before it
    case 'mirror.leg':
      return {
        device: e.device,
        text:
          e.reason === 'reset'
            ? `leg ${e.leg} (${e.name}) reset to ${e.health} once in sync`
            : e.reason === 'default'
              ? `leg ${e.defaultLeg} (${e.name}) is the primary now`
              : `leg ${e.leg} (${e.name}) had a ${e.reason} failure: health ${e.health}`,
      };
    case 'mirror.log':
      return { device: e.device, text: `the log ${e.log} is now ${e.health}` };
    case 'mirror.region':
      // A region marked in-sync by a write that covered it, or out of sync by a failed write.
      return e.state === 'nosync' ? { device: e.device, text: `region ${e.region} is out of sync` } : undefined;
    default:
      return undefined;
  }
}
