// Btrees of persistent-data (dm-btree.c): copy-on-write btrees of le64 keys with fixed-size values, built of
// BtreeNode blocks through the transaction manager. Insert walks down shadowing every node and makes room in a
// full node before descending: a full root splits beneath itself, any other full node first moves entries to
// a sibling with room, else splits one node into two (at the edges, or next to a shared sibling) or two into
// three. Removal lives in btree-remove.ts.

import { BtreeNode, btreeNodeValidator, calcMaxEntries, copyEntries, INTERNAL_NODE, LEAF_NODE } from './btree-node.js';
import { type BtreeInfo, blockRefType, ShadowSpine, shadowChild, type ValueType } from './btree-spine.js';

/** Free slots a sibling needs before entries are moved onto it rather than splitting (SPACE_THRESHOLD). */
const SPACE_THRESHOLD = 8;

/** dm_btree_empty: a new empty leaf; returns its block. */
export async function btreeEmpty(info: BtreeInfo): Promise<number> {
  const b = await info.tm.newBlock(btreeNodeValidator);
  new BtreeNode(b.data).init(LEAF_NODE, info.valueType.size);
  return b.location;
}

async function readNode(info: BtreeInfo, b: number): Promise<BtreeNode> {
  return new BtreeNode(await info.tm.readLock(b, btreeNodeValidator));
}

/** btree_lookup_raw on one level: the value stored under key in the tree at root, or undefined. */
async function lookupLevel(info: BtreeInfo, root: number, key: number): Promise<Buffer | undefined> {
  for (let b = root; ; ) {
    const n = await readNode(info, b);
    const i = n.lowerBound(key);
    if (i < 0 || i >= n.nrEntries) return undefined;
    if (n.isLeaf) return n.key(i) === key ? n.value(i) : undefined;
    b = n.value64(i);
  }
}

/** dm_btree_lookup: the value under keys (one per level), or undefined when absent. */
export async function btreeLookup(info: BtreeInfo, root: number, keys: readonly number[]): Promise<Buffer | undefined> {
  let b = root;
  for (let level = 0; level < info.levels; level++) {
    const v = await lookupLevel(info, b, keys[level]!);
    if (!v) return undefined;
    if (level === info.levels - 1) return v;
    b = Number(v.readBigUInt64LE(0));
  }
  return undefined;
}

/** dm_btree_lookup_next on a one-level tree: the first entry whose key is >= key. */
export async function btreeLookupNext(
  info: BtreeInfo,
  root: number,
  key: number,
): Promise<{ key: number; value: Buffer } | undefined> {
  const n = await readNode(info, root);
  let i = n.lowerBound(key);
  if (n.isLeaf) {
    if (i < 0 || n.key(i) < key) i++;
    return i < n.nrEntries ? { key: n.key(i), value: n.value(i) } : undefined;
  }
  for (let c = Math.max(i, 0); c < n.nrEntries; c++) {
    const found = await btreeLookupNext(info, n.value64(c), key);
    if (found) return found;
  }
  return undefined;
}

/** dm_btree_find_highest_key on a one-level tree. */
export async function btreeHighestKey(info: BtreeInfo, root: number): Promise<number | undefined> {
  for (let b = root; ; ) {
    const n = await readNode(info, b);
    if (n.nrEntries === 0) return undefined;
    if (n.isLeaf) return n.key(n.nrEntries - 1);
    b = n.value64(n.nrEntries - 1);
  }
}

/** Every key and value of a one-level tree in key order (dm_btree_walk). */
export async function btreeWalk(
  info: BtreeInfo,
  root: number,
  fn: (key: number, value: Buffer) => void | Promise<void>,
): Promise<void> {
  const n = await readNode(info, root);
  for (let i = 0; i < n.nrEntries; i++) {
    if (n.isLeaf) await fn(n.key(i), n.value(i));
    else await btreeWalk(info, n.value64(i), fn);
  }
}

/**
 * dm_btree_insert: stores value under keys (one per level; missing lower-level trees are created empty).
 * Returns the new root and whether the key was new (an overwrite decs the old value unless equal).
 */
export async function btreeInsert(
  info: BtreeInfo,
  root: number,
  keys: readonly number[],
  value: Buffer,
): Promise<{ root: number; inserted: boolean }> {
  const spine = new ShadowSpine(info.tm);
  const upper = blockRefType(info.tm);
  const last = info.levels - 1;
  let block = root;
  let index = -1;
  for (let level = 0; level < last; level++) {
    index = await insertRaw(spine, block, upper, keys[level]!, index);
    const n = new BtreeNode(spine.current.data);
    if (index >= n.nrEntries || n.key(index) !== keys[level]) {
      const sub = Buffer.alloc(8);
      sub.writeBigUInt64LE(BigInt(await btreeEmpty(info)));
      n.insertAt(index, keys[level]!, sub);
    }
    block = n.value64(index);
  }
  const key = keys[last]!;
  // A key that is already there is overwritten in place: no node needs room (btree_get_overwrite_leaf).
  const exists = (await lookupLevel(info, block, key)) !== undefined;
  index = exists
    ? await overwritePath(spine, block, info.valueType, key, index)
    : await insertRaw(spine, block, info.valueType, key, index);
  const n = new BtreeNode(spine.current.data);
  if (!exists) {
    n.insertAt(index, key, value);
  } else {
    const old = n.value(index);
    const vt = info.valueType;
    if (vt.dec && !vt.equal?.(old, value)) await vt.dec(old);
    n.setValue(index, value);
  }
  return { root: spine.root, inserted: !exists };
}

/** Shadows the path to the leaf holding key (which exists) without rebalancing; returns its index there. */
async function overwritePath(
  spine: ShadowSpine,
  root: number,
  vt: ValueType,
  key: number,
  parentIndex: number,
): Promise<number> {
  let i = parentIndex;
  for (let b = root; ; ) {
    await spine.step(b, vt);
    if (spine.hasParent && i >= 0) new BtreeNode(spine.parent.data).setValue64(i, spine.current.location);
    const n = new BtreeNode(spine.current.data);
    i = n.lowerBound(key);
    if (n.isLeaf) return i;
    b = n.value64(i);
  }
}

/**
 * btree_insert_raw: walks one level from root to the leaf where key belongs, shadowing and making room on
 * the way; returns the index at which key is or should be inserted. parentIndex patches the pointer to this
 * level's root in the previous level's leaf (-1 at the top).
 */
async function insertRaw(
  spine: ShadowSpine,
  root: number,
  vt: ValueType,
  key: number,
  parentIndex: number,
): Promise<number> {
  let i = parentIndex;
  let top = true;
  let n: BtreeNode;
  for (let b = root; ; ) {
    await spine.step(b, vt);
    if (spine.hasParent && i >= 0) new BtreeNode(spine.parent.data).setValue64(i, spine.current.location);
    n = new BtreeNode(spine.current.data);
    if (n.nrEntries === n.maxEntries) {
      if (top) await splitBeneath(spine);
      else await rebalanceOrSplit(spine, vt, i, key);
      n = new BtreeNode(spine.current.data);
    }
    i = n.lowerBound(key);
    if (n.isLeaf) break;
    if (i < 0) {
      // The new key is the lowest under this node: lower the bound.
      n.setKey(0, key);
      i = 0;
    }
    b = n.value64(i);
    top = false;
  }
  if (i < 0 || n.key(i) !== key) i++;
  return i;
}

/** btree_split_beneath: the full root's entries go to two new children (left first); it keeps its block. */
async function splitBeneath(spine: ShadowSpine): Promise<void> {
  const tm = spine.tm;
  const left = await tm.newBlock(btreeNodeValidator);
  const right = await tm.newBlock(btreeNodeValidator);
  const pn = new BtreeNode(spine.current.data);
  const ln = new BtreeNode(left.data);
  const rn = new BtreeNode(right.data);
  const nr = pn.nrEntries;
  const nrLeft = Math.floor(nr / 2);
  const nrRight = nr - nrLeft;
  ln.init(pn.flags, pn.valueSize, pn.maxEntries);
  rn.init(pn.flags, pn.valueSize, pn.maxEntries);
  copyEntries(ln, 0, pn, 0, nrLeft);
  copyEntries(rn, 0, pn, nrLeft, nrRight);
  ln.nrEntries = nrLeft;
  rn.nrEntries = nrRight;
  pn.flags = INTERNAL_NODE;
  pn.nrEntries = 2;
  pn.maxEntries = calcMaxEntries(8);
  pn.valueSize = 8;
  pn.setKey(0, ln.key(0));
  pn.setValue64(0, left.location);
  pn.setKey(1, rn.key(0));
  pn.setValue64(1, right.location);
}

/** redistribute2: left ends with total/2 entries, right with the rest. */
function redistribute2(left: BtreeNode, right: BtreeNode): void {
  const nrLeft = left.nrEntries;
  const nrRight = right.nrEntries;
  const total = nrLeft + nrRight;
  const targetLeft = Math.floor(total / 2);
  if (nrLeft < targetLeft) {
    const delta = targetLeft - nrLeft;
    copyEntries(left, nrLeft, right, 0, delta);
    right.moveEntries(0, delta, nrRight - delta);
  } else if (nrLeft > targetLeft) {
    const delta = nrLeft - targetLeft;
    right.moveEntries(delta, 0, nrRight);
    copyEntries(right, 0, left, targetLeft, delta);
  }
  left.nrEntries = targetLeft;
  right.nrEntries = total - targetLeft;
}

/** redistribute3 (insert side): left and right share their entries with the new, empty centre. */
function redistribute3(left: BtreeNode, center: BtreeNode, right: BtreeNode): void {
  const nrLeft = left.nrEntries;
  const nrRight = right.nrEntries;
  const total = nrLeft + nrRight;
  const targetLeft = Math.floor(total / 3);
  const targetCenter = Math.floor((total - targetLeft) / 2);
  const targetRight = total - targetLeft - targetCenter;
  if (nrLeft < targetLeft) {
    const s = targetLeft - nrLeft;
    copyEntries(left, nrLeft, right, 0, s);
    copyEntries(center, 0, right, s, targetCenter);
    right.moveEntries(0, nrRight - targetRight, targetRight);
  } else if (nrLeft < targetLeft + targetCenter) {
    const s = nrLeft - targetLeft;
    copyEntries(center, 0, left, targetLeft, s);
    copyEntries(center, s, right, 0, targetCenter - s);
    right.moveEntries(0, nrRight - targetRight, targetRight);
  } else {
    const s = targetRight - nrRight;
    right.moveEntries(s, 0, nrRight);
    copyEntries(right, 0, left, nrLeft - s, s);
    copyEntries(center, 0, left, targetLeft, nrLeft - targetLeft - s);
  }
  left.nrEntries = targetLeft;
  center.nrEntries = targetCenter;
  right.nrEntries = targetRight;
}

/** rebalance_or_split: make room in the full current node, child parentIndex of the spine's parent. */
async function rebalanceOrSplit(spine: ShadowSpine, vt: ValueType, parentIndex: number, key: number): Promise<void> {
  const tm = spine.tm;
  const parent = new BtreeNode(spine.parent.data);
  const nrParent = parent.nrEntries;
  let leftShared = false;
  let rightShared = false;
  if (parentIndex > 0) {
    const leftB = parent.value64(parentIndex - 1);
    leftShared = await tm.isShared(leftB);
    if (!leftShared && (await freeSpace(spine, leftB)) >= SPACE_THRESHOLD) {
      const sib = await shadowChild(tm, vt, parent, parentIndex - 1);
      const left = new BtreeNode(sib.data);
      const right = new BtreeNode(spine.current.data);
      redistribute2(left, right);
      parent.setKey(parentIndex, right.key(0));
      if (key < right.key(0)) spine.current = sib;
      return;
    }
  }
  if (parentIndex < nrParent - 1) {
    const rightB = parent.value64(parentIndex + 1);
    rightShared = await tm.isShared(rightB);
    if (!rightShared && (await freeSpace(spine, rightB)) >= SPACE_THRESHOLD) {
      const sib = await shadowChild(tm, vt, parent, parentIndex + 1);
      const left = new BtreeNode(spine.current.data);
      const right = new BtreeNode(sib.data);
      redistribute2(left, right);
      parent.setKey(parentIndex + 1, right.key(0));
      if (key >= right.key(0)) spine.current = sib;
      return;
    }
  }
  // Sequential inserts (at either edge) split one node in two; elsewhere two nodes become three.
  if (leftShared || rightShared || nrParent <= 2 || parentIndex === 0 || parentIndex + 1 === nrParent)
    await splitOneIntoTwo(spine, parentIndex, key);
  else await splitTwoIntoThree(spine, vt, parentIndex, key);
}

async function freeSpace(spine: ShadowSpine, b: number): Promise<number> {
  const n = new BtreeNode(await spine.tm.readLock(b, btreeNodeValidator));
  return n.maxEntries - n.nrEntries;
}

/** split_one_into_two: a new right sibling takes the upper half. */
async function splitOneIntoTwo(spine: ShadowSpine, parentIndex: number, key: number): Promise<void> {
  const left = spine.current;
  const right = await spine.tm.newBlock(btreeNodeValidator);
  const ln = new BtreeNode(left.data);
  const rn = new BtreeNode(right.data);
  rn.init(ln.flags, ln.valueSize, ln.maxEntries);
  redistribute2(ln, rn);
  const pn = new BtreeNode(spine.parent.data);
  const loc = Buffer.alloc(8);
  loc.writeBigUInt64LE(BigInt(right.location));
  pn.insertAt(parentIndex + 1, rn.key(0), loc);
  if (key >= rn.key(0)) spine.current = right;
}

/** split_two_into_three: the node and a neighbour share their entries with a new middle node. */
async function splitTwoIntoThree(spine: ShadowSpine, vt: ValueType, parentIndex: number, key: number): Promise<void> {
  const pn = new BtreeNode(spine.parent.data);
  let left: typeof spine.current;
  let right: typeof spine.current;
  let middleIndex: number;
  if (parentIndex === 0) {
    middleIndex = 1;
    left = spine.current;
    right = await shadowChild(spine.tm, vt, pn, parentIndex + 1);
  } else {
    middleIndex = parentIndex;
    right = spine.current;
    left = await shadowChild(spine.tm, vt, pn, parentIndex - 1);
  }
  const middle = await spine.tm.newBlock(btreeNodeValidator);
  const ln = new BtreeNode(left.data);
  const rn = new BtreeNode(right.data);
  const mn = new BtreeNode(middle.data);
  mn.init(ln.flags, ln.valueSize, ln.maxEntries);
  redistribute3(ln, mn, rn);
  pn.setKey(middleIndex, rn.key(0));
  const loc = Buffer.alloc(8);
  loc.writeBigUInt64LE(BigInt(middle.location));
  pn.insertAt(middleIndex, mn.key(0), loc);
  if (key < mn.key(0)) spine.current = left;
  else if (key < rn.key(0)) spine.current = middle;
  else spine.current = right;
}

/**
 * dm_btree_del: drops one reference to the tree at root. A node still shared is only decremented; a node
 * this was the last reference to releases its children (lower-level trees, or the values' references) first.
 */
export async function btreeDel(info: BtreeInfo, root: number, level = 0): Promise<void> {
  const tm = info.tm;
  if ((await tm.sm.getCount(root)) > 1) {
    await tm.dec(root);
    return;
  }
  const n = await readNode(info, root);
  for (let i = 0; i < n.nrEntries; i++) {
    if (!n.isLeaf) await btreeDel(info, n.value64(i), level);
    else if (level < info.levels - 1) await btreeDel(info, n.value64(i), level + 1);
    else if (info.valueType.dec) await info.valueType.dec(n.value(i));
  }
  await tm.dec(root);
}
