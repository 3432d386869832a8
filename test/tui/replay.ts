// Loads a recorded event stream from fixtures/events/ (gzipped JSON lines) as the store's input.

import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { asEngineEvent, type EngineEvent } from '../../tui/store/engine-event.js';

export function loadStream(name: string): EngineEvent[] {
  const text = gunzipSync(
    readFileSync(join(import.meta.dirname, '../../fixtures/events', `${name}.jsonl.gz`)),
  ).toString('utf8');
  return text
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l, i) => {
      const e = asEngineEvent(JSON.parse(l));
      if (!e) throw new Error(`${name}: line ${i + 1} is not an event`);
      return e;
    });
}

/** Fields of an event by name, for expectations computed from the stream itself. */
export function fieldOf(e: EngineEvent, name: string): unknown {
  return (e as unknown as Record<string, unknown>)[name];
}
