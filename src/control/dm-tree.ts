// The device dependency tree dmsetup builds for `ls --tree` and the relationship fields of `info -c`
// (lvm2 libdm/libdm-deptree.c: dm_tree_add_dev, _add_dev, _link_tree_nodes, dm_tree_next_child,
// dm_tree_node_num_children). Kept as libdevmapper keeps it — each node's `uses` and `usedBy` lists in the
// order links were made, with links to the root for the top and bottom levels — because both the tree's
// drawing order and the order of names in `names_using_dev` are that list order.

/** A device a report names: a mapped device (by its number), or another block device as its table named it. */
export type ReportDevice =
  | { readonly mapped: true; readonly name: string; readonly major: number; readonly minor: number }
  | { readonly mapped: false; readonly word: string; readonly boundTo?: string };

export class TreeNode {
  readonly uses: TreeNode[] = [];
  readonly usedBy: TreeNode[] = [];
  constructor(
    readonly tree: DmTree,
    /** null: the root. */
    readonly device: ReportDevice | null,
  ) {}

  /** A mapped device's name; '' for other devices (the tree skips them unless it shows numbers). */
  get name(): string {
    return this.device?.mapped ? this.device.name : '';
  }

  /** dm_tree_node_num_children: nodes below (or, inverted, above); none at the bottom (top) level. */
  childCount(inverted: boolean): number {
    const root = this.tree.root;
    if (inverted) return linked(root, this) ? 0 : this.usedBy.length;
    return linked(this, root) ? 0 : this.uses.length;
  }

  /** The nodes dm_tree_next_child walks, in order. */
  children(inverted: boolean): readonly TreeNode[] {
    return inverted ? this.usedBy : this.uses;
  }
}

function linked(parent: TreeNode, child: TreeNode): boolean {
  return parent.uses.includes(child);
}

function link(parent: TreeNode, child: TreeNode): void {
  if (linked(parent, child)) return;
  parent.uses.push(child);
  child.usedBy.push(parent);
}

function unlink(parent: TreeNode, child: TreeNode): void {
  if (!linked(parent, child)) return;
  parent.uses.splice(parent.uses.indexOf(child), 1);
  child.usedBy.splice(child.usedBy.indexOf(parent), 1);
}

/** What the tree needs of one device: its number and, for a mapped device, what its live table uses. */
export interface TreeSource {
  deps(device: ReportDevice): readonly ReportDevice[];
}

function key(d: ReportDevice): string {
  return d.mapped ? `${d.major}:${d.minor}` : `other:${d.boundTo ?? d.word}`;
}

export class DmTree {
  readonly root: TreeNode = new TreeNode(this, null);
  private readonly nodes = new Map<string, TreeNode>();

  constructor(private readonly source: TreeSource) {}

  /** dm_tree_add_dev: a device (in listing order) and, the first time it is seen, everything it uses. */
  add(device: ReportDevice): void {
    this.addUnder(this.root, device);
  }

  node(device: ReportDevice): TreeNode | undefined {
    return this.nodes.get(key(device));
  }

  private addUnder(parent: TreeNode, device: ReportDevice): void {
    let node = this.nodes.get(key(device));
    const isNew = node === undefined;
    if (!node) {
      node = new TreeNode(this, device);
      this.nodes.set(key(device), node);
    }
    this.linkTreeNodes(parent, node);
    if (!isNew) return;
    const deps = device.mapped ? this.source.deps(device) : [];
    if (deps.length === 0) {
      link(node, this.root); // bottom level
      return;
    }
    for (const d of deps) this.addUnder(node, d);
  }

  /** _link_tree_nodes: a node with a parent leaves the top level; a node with a child leaves the bottom. */
  private linkTreeNodes(parent: TreeNode, child: TreeNode): void {
    if (parent === this.root) {
      if (child.childCount(true) > 0) return;
    } else unlink(this.root, child);
    unlink(parent, this.root);
    link(parent, child);
  }
}
