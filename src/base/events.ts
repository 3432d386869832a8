// The one event bus: every layer reports what it does as typed events; the TUI, the trace file and the
// daemon's event stream are subscribers. Nothing that emits knows who listens.
//
// Each module adds its own event kinds by augmenting DmEventMap next to the code that emits them:
//   declare module './events.js' { interface DmEventMap { 'kcopyd.job': KcopydJobEvent } }

export interface DmEventMap {
  /**
   * An I/O request failed on a device (any layer). `issuer`, when set, names the request that failed (e.g.
   * `kcopyd sub-job 7 of job 5`): errors of different issuers are different events even on adjacent sectors.
   */
  'io.error': {
    device: string;
    op: string;
    sector: number;
    count: number;
    code: string;
    message: string;
    issuer?: string;
  };
}

export type DmEventType = keyof DmEventMap;

/** One event: its kind, a sequence number, a millisecond timestamp, and the kind's fields. */
export type DmEvent = { [K in DmEventType]: { type: K; seq: number; time: number } & DmEventMap[K] }[DmEventType];

export type DmEventListener = (event: DmEvent) => void;

/** Which event kinds a listener takes (all when absent). */
export type DmEventFilter = (type: DmEventType) => boolean;

interface Subscription {
  listener: DmEventListener;
  accepts: DmEventFilter | null;
}

export class EventBus {
  private readonly subscriptions = new Set<Subscription>();
  /** wants(type), computed once per kind until the subscriptions change. */
  private wanted = new Map<DmEventType, boolean>();
  private seq = 0;
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  emit<K extends DmEventType>(type: K, fields: DmEventMap[K]): void {
    if (this.subscriptions.size === 0) {
      this.seq++;
      return;
    }
    const event = { ...fields, type, seq: ++this.seq, time: this.now() } as DmEvent;
    for (const s of this.subscriptions) if (s.accepts === null || s.accepts(type)) s.listener(event);
  }

  /**
   * Subscribes; returns the function that unsubscribes. `accepts` narrows the kinds the listener gets, so
   * emitters that check wants() skip building events nobody takes (a progress line need not turn on every
   * kcopyd job event).
   */
  on(listener: DmEventListener, accepts?: DmEventFilter): () => void {
    const s: Subscription = { listener, accepts: accepts ?? null };
    this.subscriptions.add(s);
    this.wanted = new Map();
    return () => {
      if (this.subscriptions.delete(s)) this.wanted = new Map();
    };
  }

  get listenerCount(): number {
    return this.subscriptions.size;
  }

  /** Whether any listener takes events of this kind: an emitter with costly fields checks it first. */
  wants(type: DmEventType): boolean {
    if (this.subscriptions.size === 0) return false;
    let w = this.wanted.get(type);
    if (w === undefined) {
      w = false;
      for (const s of this.subscriptions) if (s.accepts === null || s.accepts(type)) w = true;
      this.wanted.set(type, w);
    }
    return w;
  }
}

/** The process-wide bus that engine objects use unless given another. */
export const defaultBus = new EventBus();
