// The devices slice: each mapped device's target, size, run state and its snapshot or mirror fields, and the
// tree by stacking (a device above the devices its table uses; an origin above its snapshots).

import { MAPPER_PREFIX } from '../../src/dm/device-pool.js';
import { mirrorView, parseTableLines, snapshotView, typedStatus, typedTable, usedDevices } from './status-line.js';
import { thinPoolUses, thinPoolView, thinView } from './thin-view.js';
import type { DeviceRunState, DeviceView, ExportView, MirrorView, SnapshotView } from './view-state.js';

type Devices = ReadonlyMap<string, DeviceView>;

/** A device as `dmsetup table` and `dmsetup status` print it. */
export interface DeviceSnapshot {
  name: string;
  table: string;
  status: string;
  state: DeviceRunState;
  /** An error table put in place by the `fail` shortcut. */
  failed?: boolean;
  /** Its NBD export, if it has one. */
  export?: ExportView;
}

export function deviceFromSnapshot(s: DeviceSnapshot, previous?: DeviceView): DeviceView {
  const lines = parseTableLines(s.table);
  const statusLines = parseTableLines(s.status);
  const first = lines[0];
  const target = lines.length === 1 && first ? first.target : lines.length === 0 ? 'none' : 'multi';
  const size = lines.reduce((n, l) => Math.max(n, l.start + l.length), 0);
  const view: DeviceView = {
    name: s.name,
    target,
    sizeSectors: size,
    state: s.state,
    uses: [...new Set(lines.flatMap((l) => [...usedDevices(l), ...thinPoolUses(l)]))],
    table: s.table.trim(),
    failed: s.failed ?? false,
    ...(s.export ? { export: s.export } : {}),
  };
  const table = first && lines.length === 1 ? typedTable(first) : undefined;
  const status = statusLines[0] ? typedStatus(statusLines[0]) : undefined;
  if (table?.target === 'snapshot' || table?.target === 'snapshot-merge') {
    const snap = status?.target === 'snapshot' || status?.target === 'snapshot-merge' ? status : undefined;
    view.snapshot = snapshotView(table, snap, table.target === 'snapshot-merge');
  }
  if (first && lines.length === 1) {
    const pool = thinPoolView(first, statusLines[0], previous?.thinPool);
    if (pool) view.thinPool = pool;
    const thin = thinView(first, statusLines[0]);
    if (thin) view.thin = thin;
  }
  if (table?.target === 'mirror' && status?.target === 'mirror') {
    view.mirror = { ...mirrorView(table, status), primary: previous?.mirror?.primary ?? 0 };
  }
  return view;
}

/** An export's fields (from `ls --json` or an nbd.export event), checked, since they may come off a socket. */
export function exportFrom(v: unknown): ExportView | undefined {
  if (typeof v !== 'object' || v === null) return undefined;
  const r = v as Record<string, unknown>;
  if (typeof r.listen !== 'string' || typeof r.uri !== 'string') return undefined;
  const clients = typeof r.clients === 'number' && Number.isSafeInteger(r.clients) && r.clients >= 0 ? r.clients : 0;
  return { listen: r.listen, uri: r.uri, readOnly: r.readOnly === true, clients };
}

export function putDevice(devices: Devices, view: DeviceView): Devices {
  const next = new Map(devices);
  next.set(view.name, view);
  return next;
}

export function removeDevice(devices: Devices, name: string): Devices {
  if (!devices.has(name)) return devices;
  const next = new Map(devices);
  next.delete(name);
  return next;
}

/** Applies `change` to one device if it exists (events about unknown devices change nothing here). */
export function updateDevice(devices: Devices, name: string, change: (d: DeviceView) => DeviceView): Devices {
  const d = devices.get(name);
  return d ? putDevice(devices, change(d)) : devices;
}

export function updateSnapshot(devices: Devices, name: string, change: Partial<SnapshotView>): Devices {
  return updateDevice(devices, name, (d) => (d.snapshot ? { ...d, snapshot: { ...d.snapshot, ...change } } : d));
}

export function updateMirror(devices: Devices, name: string, change: (m: MirrorView) => Partial<MirrorView>): Devices {
  return updateDevice(devices, name, (d) => (d.mirror ? { ...d, mirror: { ...d.mirror, ...change(d.mirror) } } : d));
}

/** Marks a device exported (or, with undefined, no longer exported). */
export function setExport(devices: Devices, name: string, exp: ExportView | undefined): Devices {
  return updateDevice(devices, name, (d) => {
    const next: DeviceView = { ...d };
    if (exp) next.export = exp;
    else delete next.export;
    return next;
  });
}

/** Replaces one leg's health letter. */
export function setHealth(health: string, leg: number, letter: string): string {
  if (leg < 0 || leg >= health.length) return health;
  return health.slice(0, leg) + letter + health.slice(leg + 1);
}

export interface TreeRow {
  device: DeviceView;
  depth: number;
}

/** Devices in display order: each root followed by what stacks under it, depth-first, every device once. */
export function deviceTree(devices: Devices): TreeRow[] {
  const parent = new Map<string, string>();
  const byUse = new Map<string, string>();
  for (const d of devices.values()) {
    for (const u of d.uses) {
      if (u.startsWith(MAPPER_PREFIX) && !byUse.has(u.slice(MAPPER_PREFIX.length)))
        byUse.set(u.slice(MAPPER_PREFIX.length), d.name);
    }
  }
  for (const d of devices.values()) {
    const origin = d.snapshot?.origin;
    const originOwner = origin
      ? [...devices.values()].find((o) => o.target === 'snapshot-origin' && o.uses[0] === origin)
      : undefined;
    // A thin device stacks under its pool, as a snapshot under its origin.
    const pool = d.thin && devices.get(d.thin.pool)?.thinPool ? d.thin.pool : undefined;
    const p = originOwner?.name ?? pool ?? byUse.get(d.name);
    if (p && p !== d.name) parent.set(d.name, p);
  }
  const children = new Map<string, string[]>();
  for (const [child, p] of parent) children.set(p, [...(children.get(p) ?? []), child]);
  const rows: TreeRow[] = [];
  const seen = new Set<string>();
  const visit = (name: string, depth: number): void => {
    const d = devices.get(name);
    if (!d || seen.has(name)) return;
    seen.add(name);
    rows.push({ device: d, depth });
    for (const c of (children.get(name) ?? []).sort()) visit(c, depth + 1);
  };
  const names = [...devices.keys()].sort();
  for (const n of names) if (!parent.has(n) || !devices.has(parent.get(n)!)) visit(n, 0);
  for (const n of names) visit(n, 0); // anything left is in a cycle: show it at the top rather than lose it
  return rows;
}
