// StatusHistory: why each device's status line last changed. It follows the engine's events; after an event
// that can change a status field (targets/status-explain.ts statusCause: an exception prepared, a region
// resynced, a leg failed, a new table live) it reads the device's status again, and when the line differs
// from the one it knew it emits `status.changed` with the old and new line, each changed field by its kernel
// name, and the causes seen since; `explain` answers `dmsim status --explain NAME` from the last change. The
// kernel has no twin: dm raises a bare dm event (and only for some of these); a student wants the why.

import {
  changedFields,
  type FieldChange,
  type StatusField,
  statusCause,
  statusFields,
} from '../../targets/status-explain.js';
import type { DmEvent, EventBus } from '../base/events.js';
import type { TableLine } from '../dm/table-line.js';

/** One status line, as `dmsetup status NAME` prints it: `<start> <length> <target> <params>`. */
function lineText(l: TableLine): string {
  return `${l.start} ${l.length} ${l.target}${l.params ? ` ${l.params}` : ''}`;
}

interface StatusChange {
  device: string;
  /** The lines before and after, as dmsetup prints them. */
  from: string[];
  to: string[];
  changes: FieldChange[];
  /** What happened since the line before, oldest first (empty when nothing the history follows explains it). */
  causes: string[];
}

declare module '../base/events.js' {
  interface DmEventMap {
    /** A device's status line changed: the old and new lines, the fields that changed, and why. */
    'status.changed': StatusChange;
  }
}

/** What `status --explain NAME` shows: the lines now with their named fields, and the last change. */
export interface StatusExplanation {
  device: string;
  lines: { line: string; fields: StatusField[] }[];
  last: (StatusChange & { time: number }) | null;
}

/** Event kinds after which a device's status is read again even without a cause (a new table, a resume). */
const TABLE_CHANGES: Partial<Record<DmEvent['type'], string>> = {
  'dm.created': 'the device was created',
  'dm.table_swapped': 'a new table went live',
  'dm.resumed': 'the device was resumed',
};

export class StatusHistory {
  private readonly known = new Map<string, TableLine[]>();
  private readonly causes = new Map<string, { text: string; chunk?: number | undefined }[]>();
  private readonly last = new Map<string, StatusChange & { time: number }>();
  private readonly reading = new Map<string, Promise<void>>();
  private readonly again = new Set<string>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly status: (name: string) => Promise<TableLine[]>,
    private readonly bus: EventBus,
  ) {
    // Not kcopyd's events: a daemon that follows status must not make kcopyd build an event per job.
    this.unsubscribe = bus.on(
      (e) => this.onEvent(e),
      (type) => !type.startsWith('kcopyd.'),
    );
  }

  close(): void {
    this.unsubscribe();
  }

  private onEvent(e: DmEvent): void {
    if (e.type === 'status.changed') {
      this.last.set(e.device, { ...e });
      return;
    }
    if (e.type === 'dm.removed') {
      for (const m of [this.known, this.causes, this.last]) m.delete(e.device);
      return;
    }
    const cause = statusCause(e);
    if (cause?.completes) {
      // The copy of an exception just prepared: told with it. Its cause is still waiting for the status read
      // (the copy starts in the same turn); if it is not, the change was told already and this adds nothing.
      const prepared = [...(this.causes.get(cause.device) ?? [])].reverse().find((c) => c.chunk === cause.chunk);
      if (prepared) prepared.text += `; ${cause.text}`;
      return;
    }
    const device = cause?.device ?? (TABLE_CHANGES[e.type] && 'device' in e ? e.device : undefined);
    if (device === undefined) return;
    const text = cause?.text ?? TABLE_CHANGES[e.type]!;
    if (text !== '') this.causes.set(device, [...(this.causes.get(device) ?? []), { text, chunk: cause?.chunk }]);
    if (!cause?.later) this.read(device);
  }

  /** Reads the device's status (one read at a time per device; events during a read ask for one more). */
  private read(device: string): void {
    if (this.reading.has(device)) {
      this.again.add(device);
      return;
    }
    const p = this.compare(device)
      .catch(() => undefined) // a device removed meanwhile: its dm.removed clears it
      .finally(() => {
        this.reading.delete(device);
        if (this.again.delete(device)) this.read(device);
      });
    this.reading.set(device, p);
  }

  private async compare(device: string): Promise<void> {
    const lines = await this.status(device);
    // Taken after the read: the causes of the same moment are all in.
    const causes = (this.causes.get(device) ?? []).map((c) => c.text);
    this.causes.delete(device);
    const before = this.known.get(device);
    this.known.set(device, lines);
    // The first line seen (or the first once a table went live) is where the history starts, not a change.
    if (!before || before.length === 0) return;
    const from = before.map(lineText);
    const to = lines.map(lineText);
    if (from.join('\n') === to.join('\n')) return;
    const changes =
      before.length === lines.length && before.every((l, i) => l.target === lines[i]!.target)
        ? lines.flatMap((l, i) => changedFields(l.target, before[i]!.params, l.params))
        : [{ name: 'table', from: from.join('; '), to: to.join('; ') }];
    this.bus.emit('status.changed', { device, from, to, changes, causes });
  }

  /** The device's status now, each field named, and its last change (null before the first one). */
  async explain(device: string): Promise<StatusExplanation> {
    const lines = await this.status(device);
    return {
      device,
      lines: lines.map((l) => ({ line: lineText(l), fields: statusFields(l.target, l.params) })),
      last: this.last.get(device) ?? null,
    };
  }
}

/** The explanation as `dmsim status --explain` prints it. */
export function formatExplanation(x: StatusExplanation): string {
  const out: string[] = [];
  for (const { line, fields } of x.lines) {
    out.push(line);
    for (const f of fields) out.push(`  ${f.name}: ${f.value}`);
  }
  if (!x.last) {
    out.push('no change seen since the daemon started following this device');
  } else {
    out.push(`last change (${new Date(x.last.time).toISOString()}):`, ...explainChange(x.last).map((l) => `  ${l}`));
  }
  return `${out.join('\n')}\n`;
}

/** A change told in lines: the old and the new line, each changed field, and the causes. */
export function explainChange(c: Omit<StatusChange, 'device'>): string[] {
  return [
    ...c.from.map((l) => `old: ${l}`),
    ...c.to.map((l) => `new: ${l}`),
    ...c.changes.map((f) => `${f.name} ${f.from}→${f.to}`),
    ...(c.causes.length > 0 ? c.causes.map((t) => `because: ${t}`) : ['because: (no event the history follows)']),
  ];
}
