// `dmsetup ls --tree [-o OPTIONS]`: the dependency tree drawn as dmsetup 1.02.185 draws it (lvm2
// libdm/dm-tools/dmsetup.c: _process_tree_options, _display_tree_walk_children, _display_tree_node,
// _out_prefix, _out_char with its truncation at the terminal's width).

import { InvalidArgumentError } from '../base/errors.js';
import type { DmTree, TreeNode } from './dm-tree.js';
import type { DeviceNumbers } from './dmsetup-report-fields.js';

/** What a node shows besides its name: state, read-only, open count, uuid (ls --tree -o active,rw,open,uuid). */
export interface TreeNodeInfo {
  suspended: boolean;
  readOnly: boolean;
  openCount: number;
  uuid: string;
}

interface Symbols {
  empty: string;
  branch: string;
  vert: string;
  last: string;
  single: string;
  first: string;
}

const ASCII: Symbols = { empty: '  ', branch: '|-', vert: '| ', last: '`-', single: '---', first: '-+-' };
const UTF: Symbols = {
  empty: '  ',
  branch: '\u251c\u2500',
  vert: '\u2502 ',
  last: '\u2514\u2500',
  single: '\u2500\u2500\u2500',
  first: '\u2500\u252c\u2500',
};
const VT_BEG = '\x1b(0\x0f';
const VT_END = '\x1b(B';
const VT100: Symbols = {
  empty: '  ',
  branch: `${VT_BEG}tq${VT_END}`,
  vert: `${VT_BEG}x${VT_END} `,
  last: `${VT_BEG}mq${VT_END}`,
  single: `${VT_BEG}qqq${VT_END}`,
  first: `${VT_BEG}qwq${VT_END}`,
};

export interface TreeOptions {
  device: boolean;
  blkdevname: boolean;
  active: boolean;
  rw: boolean;
  open: boolean;
  uuid: boolean;
  compact: boolean;
  truncate: boolean;
  inverted: boolean;
  symbols: Symbols;
}

/** The tree options' words; each may be abbreviated, the first match in this order wins (strncmp). */
const WORDS = [
  'device',
  'blkdevname',
  'nodevice',
  'status',
  'table',
  'active',
  'open',
  'uuid',
  'rw',
  'utf',
  'vt100',
  'ascii',
  'inverted',
  'compact',
  'notrunc',
] as const;

/** An -o word dmsetup does not know: dmsetup prints the message and "Couldn't process command line.". */
export class OptionWordError extends InvalidArgumentError {}

/**
 * _process_tree_options: defaults device and truncation, the symbol set by the locale's codeset (UTF-8 or
 * ASCII), then each word of -o. `status` and `table` are accepted and, as in dmsetup 1.02.185, draw nothing.
 */
export function treeOptions(words: string | undefined, utf8Locale: boolean): TreeOptions {
  const o: TreeOptions = {
    device: true,
    blkdevname: false,
    active: false,
    rw: false,
    open: false,
    uuid: false,
    compact: false,
    truncate: true,
    inverted: false,
    symbols: utf8Locale ? UTF : ASCII,
  };
  let rest = words ?? '';
  while (rest !== '') {
    const comma = rest.indexOf(',');
    const word = comma < 0 ? rest : rest.slice(0, comma);
    const match = WORDS.find((w) => w.startsWith(word));
    if (match === undefined) throw new OptionWordError(`Tree options not recognised: ${rest}.`);
    switch (match) {
      case 'device':
        o.device = true;
        break;
      case 'nodevice':
        o.device = false;
        break;
      case 'blkdevname':
      case 'active':
      case 'rw':
      case 'open':
      case 'uuid':
      case 'compact':
      case 'inverted':
        o[match] = true;
        break;
      case 'notrunc':
        o.truncate = false;
        break;
      case 'utf':
        o.symbols = UTF;
        break;
      case 'vt100':
        o.symbols = VT100;
        break;
      case 'ascii':
        o.symbols = ASCII;
        break;
      case 'status':
      case 'table':
        break;
    }
    if (comma < 0) break;
    rest = rest.slice(comma + 1);
  }
  return o;
}

/** A locale whose codeset is UTF-8 (setlocale(LC_ALL, "") then nl_langinfo(CODESET)). */
export function utf8Locale(env: NodeJS.ProcessEnv): boolean {
  const locale = env.LC_ALL || env.LC_CTYPE || env.LANG || '';
  return /\.utf-?8(@|$)/i.test(locale);
}

/** _out_char and friends: output with dmsetup's truncation at the terminal width ("..." at the edge). */
class TreeWriter {
  private out = '';
  private x = 1;
  private lastChar = '';
  constructor(
    private readonly truncate: boolean,
    private readonly width: number,
  ) {}

  char(c: string): void {
    // dmsetup counts bytes that start a UTF-8 character; a JS string has one code unit per such character here.
    this.x++;
    if (!this.truncate) {
      this.out += c;
      return;
    }
    if (this.x <= this.width) this.out += c;
    if (this.x === this.width + 1) {
      if (this.lastChar !== '' || c.charCodeAt(0) >= 0x80) this.out += '...';
      else {
        this.lastChar = c;
        this.x--;
      }
    }
  }

  string(s: string): void {
    for (const c of s) this.char(c);
  }

  newline(): void {
    if (this.lastChar !== '' && this.x === this.width) this.out += this.lastChar;
    this.lastChar = '';
    this.out += '\n';
    this.x = 1;
  }

  get column(): number {
    return this.x;
  }

  get text(): string {
    return this.out;
  }
}

/** Draws the tree of every device; `info` gives a mapped device's state for the attribute options. */
export function drawTree(
  tree: DmTree,
  options: TreeOptions,
  numbers: DeviceNumbers,
  info: (name: string) => TreeNodeInfo | undefined,
  termWidth = 80,
): string {
  const w = new TreeWriter(options.truncate, termWidth);
  const sym = options.symbols;
  const widths: number[] = [];
  const more: boolean[] = [];
  const attributes = options.active || options.rw || options.open || options.uuid;
  const compact = options.compact && !attributes;

  const prefix = (depth: number): void => {
    for (let d = 0; d < depth; d++) {
      w.string(' '.repeat((widths[d] ?? 0) + 1));
      w.string(d === depth - 1 ? (!more[depth] ? sym.last : sym.branch) : more[d + 1] ? sym.vert : sym.empty);
    }
  };

  const drawAttributes = (node: TreeNode): void => {
    const i = node.device?.mapped ? info(node.device.name) : undefined;
    if (!i) return;
    const parts: string[] = [];
    if (options.active) parts.push(i.suspended ? 'SUSPENDED' : 'ACTIVE');
    if (options.rw) parts.push(i.readOnly ? 'RO' : 'RW');
    if (options.open) parts.push(String(i.openCount));
    if (options.uuid) parts.push(i.uuid);
    if (parts.length > 0) w.string(` [${parts.join(', ')}]`);
  };

  const drawNode = (node: TreeNode, depth: number, last: boolean, hasChildren: boolean): void => {
    const name = node.name;
    if (name === '' && !options.device && !options.blkdevname) return;
    more[depth] = !last;
    widths[depth] = 0;
    const firstOnLine = w.column === 1;
    if (!compact || firstOnLine) prefix(depth);
    const offset = w.column;
    if (compact && !firstOnLine) w.string(more[depth] ? sym.first : sym.single);
    w.string(name);
    const device = node.device!;
    // dmsetup prints " <" and " (" after a name; a device that is not a mapped one has the name "".
    if (options.blkdevname) w.string(` <${numbers.blockName(device)}>`);
    if (options.device) w.string(` (${numbers.devno(device)})`);
    if (attributes) drawAttributes(node);
    if (compact) widths[depth] = w.column - offset;
    if (!compact || !hasChildren) w.newline();
  };

  const walk = (node: TreeNode, depth: number): void => {
    const children = node.children(options.inverted).filter((c) => c.device !== null);
    children.forEach((child, i) => {
      const hasChildren = child.childCount(options.inverted) > 0;
      drawNode(child, depth, i === children.length - 1, hasChildren);
      if (hasChildren) walk(child, depth + 1);
    });
  };
  walk(tree.root, 0);
  return w.text;
}
