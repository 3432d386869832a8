// Removal from persistent-data btrees (dm-btree-remove.c). Top-down: before stepping into a child, the child
// is rebalanced with its siblings so that it can lose an entry (a single-entry root absorbs its child; two
// siblings merge when both fit in one node with room, else share evenly; of three, the centre is deleted when
// the others can take its entries). The leaf entry is then deleted and its value's reference dropped.

import { btreeLookup, btreeLookupNext } from './btree.js';
import { BtreeNode, btreeNodeValidator } from './btree-node.js';
import { type BtreeInfo, blockRefType, incChildren, ShadowSpine, shadowChild, type ValueType } from './btree-spine.js';
import type { WriteBlock } from './transaction-manager.js';

interface Child {
  index: number;
  block: WriteBlock;
  n: BtreeNode;
}

async function initChild(spine: ShadowSpine, vt: ValueType, parent: BtreeNode, index: number): Promise<Child> {
  const block = await shadowChild(spine.tm, vt, parent, index);
  return { index, block, n: new BtreeNode(block.data) };
}

const mergeThreshold = (n: BtreeNode): number => Math.floor(n.maxEntries / 3);

/** node_copy: shift < 0 appends right's first -shift entries to left; > 0 puts left's last shift at right's front. */
function nodeCopy(left: BtreeNode, right: BtreeNode, shift: number): void {
  const nrLeft = left.nrEntries;
  if (shift < 0) copyRaw(left, nrLeft, right, 0, -shift);
  else copyRaw(right, 0, left, nrLeft - shift, shift);
}

function copyRaw(dest: BtreeNode, destAt: number, src: BtreeNode, srcAt: number, count: number): void {
  for (let k = 0; k < count; k++) {
    dest.setKey(destAt + k, src.key(srcAt + k));
    dest.setValue(destAt + k, src.value(srcAt + k));
  }
}

/** node_shift: shift < 0 drops the first -shift entries; > 0 opens shift slots at the front. */
function nodeShift(n: BtreeNode, shift: number): void {
  const nr = n.nrEntries;
  if (shift < 0) n.moveEntries(0, -shift, nr + shift);
  else n.moveEntries(shift, 0, nr);
}

/** shift: moves count entries from left's end to right's front (count < 0: the other way). */
function shift(left: BtreeNode, right: BtreeNode, count: number): void {
  if (count === 0) return;
  const nrLeft = left.nrEntries;
  const nrRight = right.nrEntries;
  if (count > 0) {
    nodeShift(right, count);
    nodeCopy(left, right, count);
  } else {
    nodeCopy(left, right, count);
    nodeShift(right, count);
  }
  left.nrEntries = nrLeft - count;
  right.nrEntries = nrRight + count;
}

async function rebalance2(spine: ShadowSpine, vt: ValueType, leftIndex: number): Promise<void> {
  const parent = new BtreeNode(spine.current.data);
  const l = await initChild(spine, vt, parent, leftIndex);
  const r = await initChild(spine, vt, parent, leftIndex + 1);
  await doRebalance2(spine, parent, l, r);
}

async function doRebalance2(spine: ShadowSpine, parent: BtreeNode, l: Child, r: Child): Promise<void> {
  const left = l.n;
  const right = r.n;
  const nrLeft = left.nrEntries;
  const nrRight = right.nrEntries;
  // Each child keeps at least max/3 + 1 entries, so either can lose one.
  if (nrLeft + nrRight < 2 * (mergeThreshold(left) + 1)) {
    nodeCopy(left, right, -nrRight);
    left.nrEntries = nrLeft + nrRight;
    parent.deleteAt(r.index);
    // The right node goes; its children are now referenced by left.
    await spine.tm.dec(r.block.location);
  } else {
    shift(left, right, nrLeft - Math.floor((nrLeft + nrRight) / 2));
    parent.setKey(r.index, right.key(0));
  }
}

async function rebalance3(spine: ShadowSpine, vt: ValueType, leftIndex: number): Promise<void> {
  const parent = new BtreeNode(spine.current.data);
  const l = await initChild(spine, vt, parent, leftIndex);
  const c = await initChild(spine, vt, parent, leftIndex + 1);
  const r = await initChild(spine, vt, parent, leftIndex + 2);
  const nrLeft = l.n.nrEntries;
  const nrCenter = c.n.nrEntries;
  const nrRight = r.n.nrEntries;
  if (nrLeft + nrCenter + nrRight < mergeThreshold(l.n) * 4 + 1) {
    await deleteCenterNode(spine, parent, l, c, r);
  } else {
    redistribute3(parent, l, c, r);
  }
}

async function deleteCenterNode(spine: ShadowSpine, parent: BtreeNode, l: Child, c: Child, r: Child): Promise<void> {
  const left = l.n;
  const center = c.n;
  const right = r.n;
  const nrLeft = left.nrEntries;
  const nrCenter = center.nrEntries;
  let s = Math.min(left.maxEntries - nrLeft, nrCenter);
  nodeCopy(left, center, -s);
  left.nrEntries = nrLeft + s;
  if (s !== nrCenter) {
    s = nrCenter - s;
    nodeShift(right, s);
    nodeCopy(center, right, s);
    right.nrEntries = right.nrEntries + s;
  }
  parent.setKey(r.index, right.key(0));
  parent.deleteAt(c.index);
  r.index--;
  await spine.tm.dec(c.block.location);
  await doRebalance2(spine, parent, l, r);
}

function redistribute3(parent: BtreeNode, l: Child, c: Child, r: Child): void {
  const left = l.n;
  const center = c.n;
  const right = r.n;
  let nrLeft = left.nrEntries;
  const nrCenter = center.nrEntries;
  let nrRight = right.nrEntries;
  const total = nrLeft + nrCenter + nrRight;
  const targetRight = Math.floor(total / 3);
  const targetLeft = targetRight + (targetRight * 3 !== total ? 1 : 0);
  if (nrLeft < nrRight) {
    let s = nrLeft - targetLeft;
    if (s < 0 && nrCenter < -s) {
      // Not enough in the centre node.
      shift(left, center, -nrCenter);
      s += nrCenter;
      shift(left, right, s);
      nrRight += s;
    } else shift(left, center, s);
    shift(center, right, targetRight - nrRight);
  } else {
    let s = targetRight - nrRight;
    if (s > 0 && nrCenter < s) {
      shift(center, right, nrCenter);
      s -= nrCenter;
      shift(left, right, s);
      nrLeft -= s;
    } else shift(center, right, s);
    shift(left, center, nrLeft - targetLeft);
  }
  parent.setKey(c.index, center.key(0));
  parent.setKey(r.index, right.key(0));
}

/** rebalance_children: make the child on key's path able to lose an entry. */
async function rebalanceChildren(spine: ShadowSpine, vt: ValueType, key: number): Promise<void> {
  const n = new BtreeNode(spine.current.data);
  if (n.nrEntries === 1) {
    // The root has one child: take its contents (the tree loses a level).
    const childB = n.value64(0);
    const child = await spine.tm.readLock(childB, btreeNodeValidator);
    child.copy(n.data);
    // dmsim: when the child is shared its children gain this node as a referrer (the kernel skips this inc).
    if (await spine.tm.isShared(childB)) await incChildren(spine.tm, n, vt);
    await spine.tm.dec(childB);
    return;
  }
  const i = n.lowerBound(key);
  const hasLeft = i > 0;
  const hasRight = i < n.nrEntries - 1;
  if (!hasLeft) await rebalance2(spine, vt, i);
  else if (!hasRight) await rebalance2(spine, vt, i - 1);
  else await rebalance3(spine, vt, i - 1);
}

/** remove_raw: walks one level down to the leaf holding key; returns its index there. */
async function removeRaw(spine: ShadowSpine, vt: ValueType, root: number, key: number, index: number): Promise<number> {
  let i = index;
  for (let b = root; ; ) {
    await spine.step(b, vt);
    if (spine.hasParent) new BtreeNode(spine.parent.data).setValue64(i, spine.current.location);
    let n = new BtreeNode(spine.current.data);
    if (n.isLeaf) return n.lowerBound(key);
    await rebalanceChildren(spine, vt, key);
    n = new BtreeNode(spine.current.data);
    if (n.isLeaf) return n.lowerBound(key);
    i = n.lowerBound(key);
    b = n.value64(i);
  }
}

/**
 * dm_btree_remove: removes the entry under keys; returns the new root, or undefined (and changes nothing)
 * when there is no such entry. (The kernel answers ENODATA after it has shadowed the path; dmsim looks
 * first so that a miss leaves no unreachable shadows behind.)
 */
export async function btreeRemove(info: BtreeInfo, root: number, keys: readonly number[]): Promise<number | undefined> {
  if ((await btreeLookup(info, root, keys)) === undefined) return undefined;
  const spine = new ShadowSpine(info.tm);
  const upper = blockRefType(info.tm);
  const last = info.levels - 1;
  let block = root;
  let index = 0;
  for (let level = 0; level < info.levels; level++) {
    index = await removeRaw(spine, level === last ? info.valueType : upper, block, keys[level]!, index);
    const n = new BtreeNode(spine.current.data);
    if (level !== last) {
      block = n.value64(index);
      continue;
    }
    const dec = info.valueType.dec;
    if (dec) await dec(n.value(index));
    n.deleteAt(index);
  }
  return spine.root;
}

/**
 * dm_btree_remove_leaves on a tree whose last level holds keys [begin, end) under the upper keys `prefix`:
 * removes every entry in the range; returns the new root and how many went.
 */
export async function btreeRemoveRange(
  info: BtreeInfo,
  root: number,
  prefix: readonly number[],
  begin: number,
  end: number,
): Promise<{ root: number; removed: number }> {
  let removed = 0;
  for (let key = begin; key < end; ) {
    const sub = await subtreeRoot(info, root, prefix);
    if (sub === undefined) break;
    const next = await btreeLookupNext({ tm: info.tm, levels: 1, valueType: info.valueType }, sub, key);
    if (!next || next.key >= end) break;
    root = (await btreeRemove(info, root, [...prefix, next.key]))!;
    removed++;
    key = next.key + 1;
  }
  return { root, removed };
}

async function subtreeRoot(info: BtreeInfo, root: number, prefix: readonly number[]): Promise<number | undefined> {
  let b = root;
  for (let level = 0; level < prefix.length; level++) {
    const v = await btreeLookup({ tm: info.tm, levels: 1, valueType: blockRefType(info.tm) }, b, [prefix[level]!]);
    if (!v) return undefined;
    b = Number(v.readBigUInt64LE(0));
  }
  return b;
}
