// Trace file (`--trace FILE`): every event on a bus written as one JSON line, or, for a FILE ending in `.json`,
// as a Chrome trace (chrome-trace.ts) that Perfetto UI and chrome://tracing open.

import { createWriteStream, type WriteStream } from 'node:fs';
import type { EventBus } from '../base/events.js';
import { ChromeTraceFile } from './chrome-trace.js';

/** What `--trace FILE` writes: Chrome's trace format for a `.json` file, JSON lines otherwise. */
export function traceFormat(path: string): 'chrome' | 'jsonl' {
  return path.toLowerCase().endsWith('.json') ? 'chrome' : 'jsonl';
}

/** Opens `--trace FILE` in the format its name asks for. */
export function openTraceFile(bus: EventBus, path: string): { close(): Promise<void> } {
  return traceFormat(path) === 'chrome' ? new ChromeTraceFile(bus, path) : new TraceFile(bus, path);
}

export class TraceFile {
  private readonly out: WriteStream;
  private readonly unsubscribe: () => void;

  constructor(bus: EventBus, path: string) {
    this.out = createWriteStream(path, { flags: 'w' });
    this.unsubscribe = bus.on((e) => this.out.write(`${JSON.stringify(e)}\n`));
  }

  async close(): Promise<void> {
    this.unsubscribe();
    await new Promise<void>((resolve, reject) => this.out.end((err?: Error | null) => (err ? reject(err) : resolve())));
  }
}
