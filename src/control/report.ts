// The column report dmsetup's `info -c`, `splitname` (and dmstats) print: libdevmapper 1.02.185's report engine
// (lvm2 libdm/libdm-report.c: dm_report_init, _parse_fields/_parse_keys, _report_headings, _sort_rows,
// _output_as_columns/_output_as_rows, _display_fields). Fields are matched without underscores and case, with
// the report's prefix or without; `-o +f` adds to the defaults; `--sort` keys not shown become hidden columns;
// `-o help` lists every field on stderr. Byte for byte what the oracle's dmsetup printed
// (fixtures/transcripts/kernel/reports.txt).

import { InvalidArgumentError } from '../base/errors.js';

/** One section of fields (dm_report_object_type): "Mapped Device Name" with prefix "name_". */
export interface ReportType {
  readonly id: string;
  readonly desc: string;
  readonly prefix: string;
}

/** A field's value: its text, and the value sorting compares (a number for number fields). */
export type FieldValue = string | number | { text: string; sort: string | number };

/** One field (dm_report_field_type): heading, initial width, id and description. */
export interface ReportField<O> {
  readonly type: ReportType;
  readonly kind: 'string' | 'number';
  readonly heading: string;
  readonly width: number;
  readonly id: string;
  readonly desc: string;
  value(row: O): FieldValue;
}

export interface ReportOptions {
  /** -o: the field list ("+f,g" adds to the defaults). */
  fields?: string;
  /** --sort: the keys, each "+f" (ascending, the default) or "-f". */
  sort?: string;
  /** --separator; aligned output when none is given. */
  separator?: string;
  noHeadings?: boolean;
  /** --nameprefixes: DM_FIELD='value'. */
  namePrefixes?: boolean;
  /** --rows: one line per field. */
  rows?: boolean;
}

/** What a report prints: its lines on stdout, and the field list on stderr when `-o help` asked for it. */
export interface ReportOutput {
  stdout: string;
  stderr: string;
}

/**
 * A field or sort key the report does not know. `help` is the field list dmsetup prints before the message; the
 * message alone is the one line dmsim prints.
 */
export class ReportFieldError extends InvalidArgumentError {
  constructor(
    readonly dmsetupMessage: string,
    readonly help: string,
  ) {
    super(
      `${dmsetupMessage.replace(/^dm_report: Unrecognised field/, 'Unrecognised sort field')} (-o help lists the fields)`,
    );
  }
}

/** The implicit fields every dmsetup report has (dm_report_init_with_selection's special fields). */
const SPECIAL: ReportType = { id: 'special', desc: 'Special', prefix: 'special_' };
const SELECTED: ReportField<unknown> = {
  type: SPECIAL,
  kind: 'number',
  heading: 'Selected',
  width: 8,
  id: 'selected',
  desc: 'Set if item passes selection criteria.',
  value: () => 1,
};
const HELP_FIELDS: readonly ReportField<unknown>[] = ['help', '?'].map((id) => ({
  type: SPECIAL,
  kind: 'number',
  heading: 'Help',
  width: 8,
  id,
  desc: 'Show help.',
  value: () => 0,
}));
const IMPLICIT: readonly ReportField<unknown>[] = [SELECTED, ...HELP_FIELDS];

/** A report's definition: its fields, its types in order, the default field list and the field-name prefix. */
export interface ReportDefinition<O> {
  readonly types: readonly ReportType[];
  readonly fields: readonly ReportField<O>[];
  readonly defaults: string;
  /** The prefix a field may be named with (the type the command reports: "" for info -c). */
  readonly prefix: string;
}

interface Column<O> {
  field: ReportField<O>;
  hidden: boolean;
  sortKey?: { position: number; descending: boolean };
}

const canonical = (id: string): string => id.replace(/_/g, '').toLowerCase();

/** _is_same_field: the same name, or the report's prefix and then the name. */
function sameField(fieldId: string, given: string, prefix: string): boolean {
  const id = canonical(fieldId);
  if (id === given) return true;
  const p = prefix.slice(0, -1).toLowerCase();
  return p !== '' && given.startsWith(p) && given.slice(p.length) === id;
}

/** _display_fields: every field by section, as dmsetup lists them on stderr. */
function fieldHelp<O>(def: ReportDefinition<O>): string {
  const all: readonly ReportField<unknown>[] = [...(def.fields as readonly ReportField<unknown>[]), ...IMPLICIT];
  let idLen = Math.max(...all.map((f) => f.id.length));
  for (const t of def.types) idLen = Math.max(idLen, t.prefix.length + 3);
  const lines: string[] = [];
  const section = (fields: readonly ReportField<unknown>[], withAll: boolean): void => {
    let last = '';
    for (const f of fields) {
      if (f.type.desc !== last) {
        if (last !== '') lines.push(' ');
        lines.push(`${f.type.desc} Fields`, '-'.repeat(f.type.desc.length + 7));
        if (withAll)
          lines.push(
            `  ${f.type.prefix}all${' '.repeat(idLen - 3 - f.type.prefix.length)} - All fields in this section.`,
          );
      }
      lines.push(`  ${f.id.padEnd(idLen)} - ${f.desc}`);
      last = f.type.desc;
    }
  };
  section(def.fields as readonly ReportField<unknown>[], true);
  lines.push(' ');
  section(IMPLICIT, false);
  lines.push(' ');
  return lines.map((l) => `${l}\n`).join('');
}

/** Parses -o and --sort into columns (dm_report_init); throws ReportFieldError for a name it does not know. */
function columns<O>(def: ReportDefinition<O>, fieldList: string, sortKeys: string): Column<O>[] {
  const implicit = IMPLICIT as readonly ReportField<O>[];
  const find = (name: string): ReportField<O> | undefined => {
    const given = canonical(name);
    return (
      implicit.find((f) => sameField(f.id, given, def.prefix)) ??
      def.fields.find((f) => sameField(f.id, given, def.prefix))
    );
  };
  /** "name_all": every field of the types whose prefix it names. */
  const allOf = (name: string): ReportField<O>[] => {
    const given = canonical(name);
    const types = def.types.filter((t) => {
      const p = t.prefix.slice(0, -1).toLowerCase();
      return given === `${p}all`;
    });
    return def.fields.filter((f) => types.includes(f.type));
  };
  const shown: Column<O>[] = [];
  const hidden: Column<O>[] = [];
  for (const name of fieldList.split(',').filter((w) => w !== '')) {
    const f = find(name);
    const fields = f ? [f] : allOf(name);
    if (fields.length === 0) throw new ReportFieldError(`Unrecognised field: ${name}`, fieldHelp(def));
    for (const field of fields) shown.push({ field, hidden: false });
  }
  let position = 0;
  for (const key of sortKeys.split(',').filter((w) => w !== '')) {
    const descending = key.startsWith('-');
    const name = key.startsWith('-') || key.startsWith('+') ? key.slice(1) : key;
    const f = name === '' ? undefined : find(name);
    if (!f) throw new ReportFieldError(`dm_report: Unrecognised field: ${key}`, fieldHelp(def));
    // The first column showing the field is the key; a key not shown becomes a hidden column.
    let col = [...hidden, ...shown].find((c) => c.field === f);
    if (!col) {
      col = { field: f, hidden: true };
      hidden.unshift(col);
    }
    if (col.sortKey) continue; // dmsetup warns and ignores a duplicate key
    col.sortKey = { position: position++, descending };
  }
  return [...hidden, ...shown];
}

interface Cell {
  text: string;
  sort: string | number;
}

function cell(v: FieldValue): Cell {
  if (typeof v === 'string' || typeof v === 'number') return { text: String(v), sort: v };
  return v;
}

/** Prints the report of `rows` (in the order given; --sort reorders them) as dmsetup would. */
export function runReport<O>(def: ReportDefinition<O>, rows: readonly O[], options: ReportOptions): ReportOutput {
  const given = options.fields;
  const fieldList =
    given === undefined ? def.defaults : given.startsWith('+') ? `${def.defaults},${given.slice(1)}` : given;
  const cols = columns(def, fieldList, options.sort ?? '');
  if (cols.some((c) => HELP_FIELDS.includes(c.field as ReportField<unknown>))) {
    return { stdout: '', stderr: fieldHelp(def) };
  }
  // --noheadings and --nameprefixes print unaligned (dmsetup _report_init).
  let separator = ' ';
  let aligned = true;
  let headings = true;
  if (options.noHeadings) {
    separator = ':';
    aligned = false;
    headings = false;
  }
  if (options.namePrefixes) aligned = false;
  if (options.separator !== undefined) {
    separator = options.separator;
    aligned = false;
  }
  if (options.rows) aligned = false;
  const table = rows.map((o) => cols.map((c) => cell(c.field.value(o))));
  const widths = cols.map((c, i) => Math.max(c.field.width, ...table.map((r) => r[i]!.text.length)));
  const keys = cols
    .map((c, i) => ({ i, key: c.sortKey }))
    .filter((k): k is { i: number; key: { position: number; descending: boolean } } => k.key !== undefined)
    .sort((a, b) => a.key.position - b.key.position);
  const sorted = [...table].sort((ra, rb) => {
    for (const { i, key } of keys) {
      const a = ra[i]!.sort;
      const b = rb[i]!.sort;
      if (a === b) continue;
      const cmp = a < b ? -1 : 1;
      return key.descending ? -cmp : cmp;
    }
    return 0;
  });
  const output = (c: Column<O>, i: number, text: string): string => {
    let s = text;
    if (aligned) s = c.field.kind === 'number' ? s.padStart(widths[i]!) : s.padEnd(widths[i]!);
    if (options.namePrefixes) return `DM_${c.field.id.toUpperCase()}='${s}'`;
    return s;
  };
  const visible = cols.map((c, i) => ({ c, i })).filter(({ c }) => !c.hidden);
  const lines: string[] = [];
  if (sorted.length === 0) return { stdout: '', stderr: '' };
  if (options.rows) {
    for (const { c, i } of visible) {
      const head = headings ? `${c.field.heading}${separator}` : '';
      lines.push(head + sorted.map((r) => output(c, i, r[i]!.text)).join(separator));
    }
  } else {
    if (headings) {
      lines.push(
        visible
          .map(({ c, i }) => (aligned ? c.field.heading.slice(0, widths[i]).padEnd(widths[i]!) : c.field.heading))
          .join(separator),
      );
    }
    for (const r of sorted) lines.push(visible.map(({ c, i }) => output(c, i, r[i]!.text)).join(separator));
  }
  return { stdout: lines.map((l) => `${l}\n`).join(''), stderr: '' };
}
