// Stack depth: walks over the graph of mapped devices whose tables use other mapped devices (the kernel's
// holders/slaves links), for the loop check and the depth limit a table load must pass. The kernel has no depth
// limit; dmsim sets one (MAX_STACK_DEPTH) so that load, I/O, teardown and error reports stay bounded, and refuses a
// table that would pass it. The walks keep their own lists instead of recursing, so no depth reaches the
// JavaScript stack.

import { MappedBlockDevice, type MappedDevice } from './mapped-device.js';

/**
 * The most mapped devices one chain of stacked tables may hold, the device at the top included: a device over
 * files is 1 deep, a device over it 2. README "Guarantees" documents it.
 */
export const MAX_STACK_DEPTH = 2048;

/** The mapped devices md's tables (live or inactive) use directly. */
function mappedBelow(md: MappedDevice): MappedDevice[] {
  const out: MappedDevice[] = [];
  for (const table of [md.live, md.inactive]) {
    for (const d of table?.devices() ?? []) if (d.bdev instanceof MappedBlockDevice) out.push(d.bdev.device);
  }
  return out;
}

/** True when `from`'s tables, directly or through other mapped devices, use `target`. */
export function dependsOn(from: MappedDevice, target: MappedDevice): boolean {
  const seen = new Set<MappedDevice>([from]);
  const todo = [from];
  for (let md = todo.pop(); md !== undefined; md = todo.pop()) {
    if (md === target) return true;
    for (const below of mappedBelow(md)) {
      if (!seen.has(below)) {
        seen.add(below);
        todo.push(below);
      }
    }
  }
  return false;
}

/** How many mapped devices the longest chain from md down holds, md included (1: its tables map only files). */
export function depthBelow(md: MappedDevice): number {
  return longestChain(md, mappedBelow);
}

/** How many mapped devices the longest chain of tables stacked on md holds, md not included. */
export function depthAbove(md: MappedDevice, all: Iterable<MappedDevice>): number {
  const holders = new Map<MappedDevice, MappedDevice[]>();
  for (const upper of all) {
    for (const below of mappedBelow(upper)) holders.set(below, [...(holders.get(below) ?? []), upper]);
  }
  return longestChain(md, (x) => holders.get(x) ?? []) - 1;
}

/** The number of nodes on the longest path from start along next (the graph has no loops: loads refuse them). */
function longestChain(start: MappedDevice, next: (md: MappedDevice) => MappedDevice[]): number {
  const length = new Map<MappedDevice, number>();
  const todo: { md: MappedDevice; expanded: boolean }[] = [{ md: start, expanded: false }];
  while (todo.length > 0) {
    const top = todo[todo.length - 1]!;
    if (length.has(top.md)) {
      todo.pop();
    } else if (!top.expanded) {
      top.expanded = true;
      for (const n of next(top.md)) if (!length.has(n)) todo.push({ md: n, expanded: false });
    } else {
      todo.pop();
      let longest = 0;
      for (const n of next(top.md)) longest = Math.max(longest, length.get(n) ?? 0);
      length.set(top.md, longest + 1);
    }
  }
  return length.get(start) ?? 1;
}
