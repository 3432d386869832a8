// The mirror's events on the bus (augmenting DmEventMap): region states for the TUI's region map,
// recovery start and end, leg and log health, sync progress. The kernel shows none of these.

import type { RegionState, RegionStateName } from './region-hash.js';
import type { LegHealth } from './status.js';

interface MirrorRegionEvent {
  /** The mapped device the mirror belongs to. */
  device: string;
  region: number;
  state: RegionStateName;
  /** The numeric region-hash state (DM_RH_*). */
  code: RegionState;
}

interface MirrorRecoveryEvent {
  device: string;
  region: number;
  phase: 'start' | 'end';
  /** First sector (relative to the target) and length of the region being copied. */
  sector: number;
  count: number;
  /** Leg index copied from (the default mirror). */
  source: number;
  /** The kcopyd job copying the region (its kcopyd.job events' `job`). */
  job?: number;
  /** Only for 'end': whether the copy succeeded, and the kcopyd error bits. */
  ok?: boolean;
  readErr?: boolean;
  writeErr?: number;
}

interface MirrorLegEvent {
  device: string;
  leg: number;
  name: string;
  health: LegHealth;
  /** What happened: a failure of the given kind, a primary switch, or every leg reset to A at 100%. */
  reason: 'write' | 'flush' | 'sync' | 'read' | 'default' | 'reset';
  /** The default mirror after the event. */
  defaultLeg: number;
}

interface MirrorSyncEvent {
  device: string;
  inSync: number;
  total: number;
  /** True the first time the mirror reached 100% (the dm event the kernel raises). */
  complete: boolean;
}

interface MirrorLogEvent {
  device: string;
  log: string;
  health: 'A' | 'D' | 'F';
}

declare module '../../src/base/events.js' {
  interface DmEventMap {
    'mirror.region': MirrorRegionEvent;
    'mirror.recovery': MirrorRecoveryEvent;
    'mirror.leg': MirrorLegEvent;
    'mirror.sync': MirrorSyncEvent;
    'mirror.log': MirrorLogEvent;
  }
}
