// The errors-and-events list: newest first, bounded, and never silently lossy. A burst of identical events
// folds into one entry with a repeat count; entries pushed past the capacity are counted in `folded`.

import type { EventLogView, LogEntry, LogLevel } from './view-state.js';

export interface LogLine {
  seq: number;
  time: number;
  level: LogLevel;
  device: string;
  text: string;
}

export function appendLog(log: EventLogView, line: LogLine): EventLogView {
  const errors = log.errors + (line.level === 'error' ? 1 : 0);
  const head = log.entries[0];
  if (head && head.level === line.level && head.device === line.device && head.text === line.text) {
    const merged: LogEntry = { ...head, seq: line.seq, time: line.time, repeat: head.repeat + 1 };
    return { ...log, entries: [merged, ...log.entries.slice(1)], errors, ...(line.level === 'error' ? { lastError: merged } : {}) };
  }
  const entry: LogEntry = { ...line, repeat: 1 };
  if (line.level === 'error') log = { ...log, lastError: entry };
  const entries = [entry, ...log.entries];
  let folded = log.folded;
  while (entries.length > log.capacity) {
    folded += entries.pop()!.repeat;
  }
  return { ...log, entries, folded, errors };
}

/** Events the list stands for: shown entries (with their repeats) plus the folded ones. */
export function loggedCount(log: EventLogView): number {
  return log.entries.reduce((n, e) => n + e.repeat, 0) + log.folded;
}
