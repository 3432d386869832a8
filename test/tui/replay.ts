// Loads a recorded event stream from fixtures/events/ (gzipped JSON lines) as the store's input, each event
// engine event checked as the daemon's stream is (a recording that no longer fits the event types fails here).

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parseEvent } from '../../src/control/event-schema.js';
import type { EngineEvent } from '../../tui/store/engine-event.js';

export function loadStream(name: string): EngineEvent[] {
  const text = gunzipSync(
    readFileSync(join(import.meta.dirname, '../../fixtures/events', `${name}.jsonl.gz`)),
  ).toString('utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      try {
        const raw = JSON.parse(l) as { type?: unknown };
        // The recorder's device snapshots are the UI's own notes (as TuiController takes them), not engine events.
        return raw.type === 'tui.device' ? (raw as EngineEvent) : parseEvent(raw);
      } catch (e) {
        throw new Error(`${name}: line ${i + 1}: ${(e as Error).message}`);
      }
    });
}

/** Fields of an event by name, for expectations computed from the stream itself. */
export function fieldOf(e: EngineEvent, name: string): unknown {
  return (e as unknown as Record<string, unknown>)[name];
}
