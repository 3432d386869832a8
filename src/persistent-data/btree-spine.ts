// The shadow spine (dm-btree-spine.c): walking down a btree for a change, each node is shadowed and held with
// its parent, so the parent's pointer can be patched to the copy. A shadow of a shared node increments what it
// points at (inc_children): child nodes for an internal node, the values' own references for a leaf.

import { BtreeNode, btreeNodeValidator } from './btree-node.js';
import type { TransactionManager, WriteBlock } from './transaction-manager.js';

/** struct dm_btree_value_type: the size of a value and what holding one more or one fewer copy means. */
export interface ValueType {
  readonly size: number;
  inc?(value: Buffer): Promise<void>;
  dec?(value: Buffer): Promise<void>;
  /** Two values are the same reference (an overwrite with an equal value does not dec the old one). */
  equal?(a: Buffer, b: Buffer): boolean;
}

/** struct dm_btree_info: a btree (levels > 1: each leaf value of a level is the root of a tree of the next). */
export interface BtreeInfo {
  readonly tm: TransactionManager;
  readonly levels: number;
  readonly valueType: ValueType;
}

/** le64 values that are metadata blocks: the child pointers of the upper levels of a multi-level tree. */
export function blockRefType(tm: TransactionManager): ValueType {
  return {
    size: 8,
    inc: (v) => tm.inc(Number(v.readBigUInt64LE(0))),
    dec: (v) => tm.dec(Number(v.readBigUInt64LE(0))),
  };
}

/** inc_children: after a shared node was copied, everything it points at has one more referrer. */
export async function incChildren(tm: TransactionManager, n: BtreeNode, vt: ValueType): Promise<void> {
  const nr = n.nrEntries;
  if (!n.isLeaf) {
    for (let i = 0; i < nr; i++) await tm.inc(n.value64(i));
  } else if (vt.inc) {
    for (let i = 0; i < nr; i++) await vt.inc(n.value(i));
  }
}

/** bn_shadow: shadow a node, incrementing its children when it was shared. */
async function shadowNode(tm: TransactionManager, b: number, vt: ValueType): Promise<WriteBlock> {
  const s = await tm.shadowBlock(b, btreeNodeValidator);
  if (s.inc) await incChildren(tm, new BtreeNode(s.data), vt);
  return s;
}

/** shadow_child: shadow child `index` of `parent` and point the parent at the copy. */
export async function shadowChild(
  tm: TransactionManager,
  vt: ValueType,
  parent: BtreeNode,
  index: number,
): Promise<WriteBlock> {
  const s = await shadowNode(tm, parent.value64(index), vt);
  parent.setValue64(index, s.location);
  return s;
}

/** struct shadow_spine: the current node and its parent, and the root of the changed tree. */
export class ShadowSpine {
  readonly tm: TransactionManager;
  nodes: WriteBlock[] = [];
  root = 0;

  constructor(tm: TransactionManager) {
    this.tm = tm;
  }

  /** shadow_step: shadow b and make it the current node (the old current becomes the parent). */
  async step(b: number, vt: ValueType): Promise<void> {
    if (this.nodes.length === 2) this.nodes.shift();
    const s = await shadowNode(this.tm, b, vt);
    if (this.nodes.length === 0) this.root = s.location;
    this.nodes.push(s);
  }

  get current(): WriteBlock {
    return this.nodes[this.nodes.length - 1]!;
  }

  set current(b: WriteBlock) {
    this.nodes[this.nodes.length - 1] = b;
  }

  get hasParent(): boolean {
    return this.nodes.length > 1;
  }

  get parent(): WriteBlock {
    return this.nodes[0]!;
  }
}
