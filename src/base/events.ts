// The one event bus: every layer reports what it does as typed events; the TUI, the trace file and the
// daemon's event stream are subscribers. Nothing that emits knows who listens.
//
// Each module adds its own event kinds by augmenting DmEventMap next to the code that emits them:
//   declare module './events.js' { interface DmEventMap { 'kcopyd.job': KcopydJobEvent } }

export interface DmEventMap {
  /** An I/O request failed on a device (any layer). */
  'io.error': { device: string; op: string; sector: number; count: number; code: string; message: string };
}

export type DmEventType = keyof DmEventMap;

/** One event: its kind, a sequence number, a millisecond timestamp, and the kind's fields. */
export type DmEvent = { [K in DmEventType]: { type: K; seq: number; time: number } & DmEventMap[K] }[DmEventType];

export type DmEventListener = (event: DmEvent) => void;

export class EventBus {
  private readonly listeners = new Set<DmEventListener>();
  private seq = 0;
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  emit<K extends DmEventType>(type: K, fields: DmEventMap[K]): void {
    if (this.listeners.size === 0) {
      this.seq++;
      return;
    }
    const event = { ...fields, type, seq: ++this.seq, time: this.now() } as DmEvent;
    for (const l of this.listeners) l(event);
  }

  /** Subscribes; returns the function that unsubscribes. */
  on(listener: DmEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get listenerCount(): number {
    return this.listeners.size;
  }
}

/** The process-wide bus that engine objects use unless given another. */
export const defaultBus = new EventBus();
