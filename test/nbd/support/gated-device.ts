// A MemoryDevice whose operations can be held at a gate, and which logs when each one starts and ends:
// lets protocol tests decide the order in which requests finish, without timers.

import { MemoryDevice } from '../../../src/block/memory-device.js';
import type { NbdBackingDevice } from '../../../src/nbd/export.js';

type Op = 'read' | 'write' | 'flush' | 'discard';

export class GatedDevice implements NbdBackingDevice {
  readonly mem: MemoryDevice;
  readonly log: string[] = [];
  private readonly gates = new Map<string, { opened: Promise<void>; open(): void }>();
  readOnly = false;
  closed = false;

  constructor(sectors: number) {
    this.mem = new MemoryDevice('gated', sectors);
  }

  get sizeSectors(): number {
    return this.mem.sizeSectors;
  }

  /** Holds the next `op` (at `sector`, for read/write/discard) until the returned function is called. */
  hold(op: Op, sector = 0): () => void {
    let open!: () => void;
    const opened = new Promise<void>((r) => (open = r));
    this.gates.set(`${op}@${op === 'flush' ? 0 : sector}`, { opened, open });
    return open;
  }

  private async pass(op: Op, sector: number): Promise<void> {
    const key = `${op}@${sector}`;
    this.log.push(`start ${key}`);
    const g = this.gates.get(key);
    if (g) {
      this.gates.delete(key);
      await g.opened;
    }
  }

  async read(sector: number, buf: Buffer): Promise<void> {
    await this.pass('read', sector);
    await this.mem.read(sector, buf);
    this.log.push(`end read@${sector}`);
  }

  async write(sector: number, buf: Buffer): Promise<void> {
    await this.pass('write', sector);
    await this.mem.write(sector, buf);
    this.log.push(`end write@${sector}`);
  }

  async flush(): Promise<void> {
    await this.pass('flush', 0);
    this.log.push('end flush@0');
  }

  async discard(sector: number, count: number): Promise<void> {
    await this.pass('discard', sector);
    await this.mem.discard(sector, count);
    this.log.push(`end discard@${sector}`);
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
