// The thin slice: a thin-pool's table and status line (dm-thin.c pool_status: transaction id, metadata and data
// used/total, mode, needs_check) and a thin device's (thin_status: mapped sectors), and the map of a thin
// device's virtual blocks (unmapped, mapped to a block of its own, shared with a snapshot or its origin), kept
// from the thin events: thin.map when the device goes live, thin.provision for each block it gets, and
// thin.pool.message for create_snap, after which the origin's blocks are shared.

import { MAPPER_PREFIX } from '../../src/dm/device-pool.js';
import { setCells, setMap } from './device-maps.js';
import type { DeviceTableLine } from './status-line.js';
import type { CellState, DeviceMapView, DeviceView, ThinPoolView, ThinView, ViewState } from './view-state.js';

const words = (params: string): string[] => params.trim().split(/\s+/).filter(Boolean);

/** `<used>/<total>` as two numbers, or undefined. */
function fraction(word: string | undefined): [number, number] | undefined {
  const m = /^(\d+)\/(\d+)$/.exec(word ?? '');
  return m ? [Number(m[1]), Number(m[2])] : undefined;
}

/** The pool's fields from its table and status lines; undefined when the table is not a thin-pool's. */
export function thinPoolView(
  table: DeviceTableLine,
  status: DeviceTableLine | undefined,
  previous: ThinPoolView | undefined,
): ThinPoolView | undefined {
  const t = words(table.params);
  const blockSectors = Number(t[2]);
  const lowWater = Number(t[3]);
  if (table.target !== 'thin-pool' || !Number.isSafeInteger(blockSectors) || !Number.isSafeInteger(lowWater))
    return undefined;
  const s = words(status?.params ?? '');
  const meta = fraction(s[1]);
  const data = fraction(s[2]);
  const base: ThinPoolView = previous ?? {
    transactionId: '0',
    metadataUsed: 0,
    metadataTotal: 0,
    dataUsed: 0,
    dataTotal: 0,
    mode: 'rw',
    needsCheck: false,
    blockSectors,
    lowWater,
  };
  if (!meta || !data)
    return { ...base, blockSectors, lowWater, mode: s[0] === 'Fail' || s[0] === 'Error' ? s[0] : base.mode };
  return {
    transactionId: s[0]!,
    metadataUsed: meta[0],
    metadataTotal: meta[1],
    dataUsed: data[0],
    dataTotal: data[1],
    mode: s[4] ?? 'rw',
    needsCheck: s[7] === 'needs_check',
    blockSectors,
    lowWater,
  };
}

/** A mapped device's name from a table word (/dev/mapper/NAME), or the word as it is. */
function deviceName(word: string): string {
  return word.startsWith(MAPPER_PREFIX) ? word.slice(MAPPER_PREFIX.length) : word;
}

/** The thin device's fields from its table and status lines; undefined when the table is not a thin's. */
export function thinView(table: DeviceTableLine, status: DeviceTableLine | undefined): ThinView | undefined {
  const t = words(table.params);
  const thinId = Number(t[1]);
  if (table.target !== 'thin' || t[0] === undefined || !Number.isSafeInteger(thinId)) return undefined;
  const s = words(status?.params ?? '');
  const mapped = Number(s[0]);
  return {
    pool: deviceName(t[0]),
    thinId,
    mappedSectors: Number.isSafeInteger(mapped) ? mapped : 0,
    failed: s[0] === 'Fail',
  };
}

/** The devices a thin-pool's table uses: its metadata and data devices (so they stack under it). */
export function thinPoolUses(table: DeviceTableLine): string[] {
  return table.target === 'thin-pool' ? words(table.params).slice(0, 2) : [];
}

function blockMap(blocks: number): DeviceMapView {
  return { kind: 'blocks', size: blocks, cells: new Map(), base: 'unmapped' };
}

export function onThinMap(
  s: ViewState,
  e: { device: string; blocks: number; mapped: Run[]; shared: Run[] },
): ViewState {
  let maps = setMap(s.maps, e.device, blockMap(e.blocks));
  for (const r of e.mapped) maps = setCells(maps, e.device, r.first, r.count, 'mapped');
  for (const r of e.shared) maps = setCells(maps, e.device, r.first, r.count, 'shared');
  return { ...s, maps };
}

interface Run {
  first: number;
  count: number;
}

type Devices = ReadonlyMap<string, DeviceView>;

/** Applies change to one device if it is known (devices.ts's updateDevice; not imported: devices.ts uses this file). */
function updateDevice(devices: Devices, name: string, change: (d: DeviceView) => DeviceView): Devices {
  const d = devices.get(name);
  return d ? new Map(devices).set(name, change(d)) : devices;
}

/** A block was provisioned: the cell is the device's own now; a new mapping adds a block to its count; the pool has one block less. */
export function onThinProvision(s: ViewState, e: { device: string; virtBlock: number }): ViewState {
  const map = s.maps.get(e.device);
  const before: CellState = map?.cells.get(e.virtBlock) ?? 'unmapped';
  const thin = s.devices.get(e.device)?.thin;
  const pool = thin ? s.devices.get(thin.pool)?.thinPool : undefined;
  let devices = s.devices;
  if (thin && pool && before === 'unmapped') {
    devices = updateDevice(devices, e.device, (d) =>
      d.thin ? { ...d, thin: { ...d.thin, mappedSectors: d.thin.mappedSectors + pool.blockSectors } } : d,
    );
  }
  if (thin && pool) {
    devices = updateDevice(devices, thin.pool, (d) =>
      d.thinPool
        ? { ...d, thinPool: { ...d.thinPool, dataUsed: Math.min(d.thinPool.dataTotal, d.thinPool.dataUsed + 1) } }
        : d,
    );
  }
  return { ...s, devices, maps: setCells(s.maps, e.device, e.virtBlock, 1, 'mapped') };
}

/** create_snap <id> <origin>: every block the active origin maps is shared from now on. */
export function onThinPoolMessage(s: ViewState, e: { device: string; args: string[] }): ViewState {
  const [verb, , originWord] = e.args;
  if (verb?.toLowerCase() !== 'create_snap' || originWord === undefined) return s;
  const origin = Number(originWord);
  let maps = s.maps;
  for (const d of s.devices.values()) {
    if (d.thin?.pool !== e.device || d.thin.thinId !== origin) continue;
    const m = maps.get(d.name);
    if (!m) continue;
    const shared = new Map([...m.cells].map(([i, c]) => [i, c === 'mapped' ? ('shared' as const) : c]));
    maps = setMap(maps, d.name, { ...m, cells: shared });
  }
  return { ...s, maps };
}

/** A thin device's map is built by the thin events, not from its table: a device snapshot keeps it. */
export function keepsThinMap(view: DeviceView, map: DeviceMapView | undefined): boolean {
  return view.thin !== undefined && map?.kind === 'blocks';
}
