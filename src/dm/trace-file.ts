// Trace file: every event on a bus written as one JSON line (`--trace FILE`).

import { createWriteStream, type WriteStream } from 'node:fs';
import type { EventBus } from '../base/events.js';

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
