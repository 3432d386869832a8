// The errors-and-events list: newest first, bounded, and never silently lossy. A burst of identical events
// folds into one entry with a repeat count, and so does a run of I/O errors on consecutive sectors (a dead
// leg fails sector by sector); entries pushed past the capacity are counted in `folded`.

import type { EventLogView, LogEntry, LogLevel, LogSpan } from './view-state.js';

export interface LogLine {
  seq: number;
  time: number;
  level: LogLevel;
  device: string;
  text: string;
  span?: LogSpan;
}

export function spanText(span: LogSpan): string {
  return `${span.label} at sector ${span.first}+${span.end - span.first}: ${span.detail}`;
}

/** A line that continues the head entry: the same text, or the next sectors of the same kind of I/O error. */
function continues(head: LogEntry, line: LogLine): LogSpan | 'same' | undefined {
  if (head.level !== line.level || head.device !== line.device) return undefined;
  if (head.span && line.span && head.span.key === line.span.key && head.span.end === line.span.first) {
    return { ...head.span, end: line.span.end };
  }
  return head.text === line.text ? 'same' : undefined;
}

export function appendLog(log: EventLogView, line: LogLine): EventLogView {
  const errors = log.errors + (line.level === 'error' ? 1 : 0);
  const head = log.entries[0];
  const folded = head ? continues(head, line) : undefined;
  if (head && folded) {
    const span = folded === 'same' ? {} : { span: folded, text: spanText(folded) };
    const merged: LogEntry = { ...head, ...span, seq: line.seq, time: line.time, repeat: head.repeat + 1 };
    return {
      ...log,
      entries: [merged, ...log.entries.slice(1)],
      errors,
      ...(line.level === 'error' ? { lastError: merged } : {}),
    };
  }
  const entry: LogEntry = { ...line, n: log.numbered + 1, repeat: 1 };
  log = { ...log, numbered: entry.n };
  if (line.level === 'error') log = { ...log, lastError: entry };
  const entries = [entry, ...log.entries];
  let dropped = log.folded;
  while (entries.length > log.capacity) {
    dropped += entries.pop()!.repeat;
  }
  return { ...log, entries, folded: dropped, errors };
}

/** The entry numbered n, if it is still in the list. */
export function findEntry(log: EventLogView, n: number): LogEntry | undefined {
  return log.entries.find((e) => e.n === n);
}

/** Events the list stands for: shown entries (with their repeats) plus the folded ones. */
export function loggedCount(log: EventLogView): number {
  return log.entries.reduce((n, e) => n + e.repeat, 0) + log.folded;
}
