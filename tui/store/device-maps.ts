// The map slice: per device, the state of each mirror region (dm-region-hash.c's CLEAN, DIRTY, NOSYNC,
// RECOVERING) or of each snapshot chunk (remapped, copy pending, merging). Only cells that differ from the
// map's base state are stored, so a map of a large device stays small.

import type { CellState, DeviceMapView, DeviceView } from './view-state.js';

type Maps = ReadonlyMap<string, DeviceMapView>;

/** A fresh map for a device that has one: regions of a mirror, chunks of a snapshot. */
export function mapForDevice(d: DeviceView): DeviceMapView | undefined {
  if (d.mirror && d.mirror.regionSectors > 0) {
    const size = d.mirror.regions || Math.ceil(d.sizeSectors / d.mirror.regionSectors);
    const cells = new Map<number, CellState>();
    // Resync runs in ascending region order, so the regions not yet in sync are the last ones.
    for (let r = d.mirror.inSync; r < size; r++) cells.set(r, 'nosync');
    return { kind: 'regions', size, cells, base: 'clean' };
  }
  if (d.snapshot && d.snapshot.chunkSectors > 0) {
    return {
      kind: 'chunks',
      size: Math.ceil(d.sizeSectors / d.snapshot.chunkSectors),
      cells: new Map(),
      base: 'unmapped',
    };
  }
  return undefined;
}

export function setMap(maps: Maps, device: string, map: DeviceMapView | undefined): Maps {
  const next = new Map(maps);
  if (map) next.set(device, map);
  else next.delete(device);
  return next;
}

/** Sets cells [first, first + count) of a device's map; indexes outside the map are ignored. */
export function setCells(maps: Maps, device: string, first: number, count: number, state: CellState): Maps {
  const m = maps.get(device);
  if (!m) return maps;
  const cells = new Map(m.cells);
  const end = Math.min(m.size, first + count);
  for (let i = Math.max(0, first); i < end; i++) {
    if (state === m.base) cells.delete(i);
    else cells.set(i, state);
  }
  return setMap(maps, device, { ...m, cells });
}

export function cellState(m: DeviceMapView, index: number): CellState {
  return m.cells.get(index) ?? m.base;
}

/** How many cells are in each state. */
export function cellCounts(m: DeviceMapView): Map<CellState, number> {
  const counts = new Map<CellState, number>([[m.base, m.size - m.cells.size]]);
  for (const s of m.cells.values()) counts.set(s, (counts.get(s) ?? 0) + 1);
  return counts;
}
