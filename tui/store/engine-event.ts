// EngineEvent: what the view-model store consumes. Events reach the TUI from three places — the in-process
// bus (typed DmEvent), the daemon's `events` stream and recorded fixtures (both JSON lines) — so the store
// reads their fields through these checked readers instead of trusting a compile-time shape.

export interface EngineEvent {
  readonly type: string;
  readonly seq: number;
  readonly time: number;
}

function raw(e: EngineEvent, name: string): unknown {
  return (e as unknown as Record<string, unknown>)[name];
}

/** The first of `names` that holds a finite number, else undefined. */
export function num(e: EngineEvent, ...names: string[]): number | undefined {
  for (const n of names) {
    const v = raw(e, n);
    if (typeof v === 'number' && Number.isFinite(v)) return v;
    if (typeof v === 'boolean') return v ? 1 : 0;
  }
  return undefined;
}

/** The first of `names` that holds a string (numbers are printed), else undefined. */
export function str(e: EngineEvent, ...names: string[]): string | undefined {
  for (const n of names) {
    const v = raw(e, n);
    if (typeof v === 'string') return v;
    if (typeof v === 'number') return String(v);
  }
  return undefined;
}

export function bool(e: EngineEvent, ...names: string[]): boolean | undefined {
  for (const n of names) {
    const v = raw(e, n);
    if (typeof v === 'boolean') return v;
    if (typeof v === 'number') return v !== 0;
  }
  return undefined;
}

/** A list of strings (or of regions printed as strings) under the first of `names` that holds an array. */
export function list(e: EngineEvent, ...names: string[]): unknown[] | undefined {
  for (const n of names) {
    const v = raw(e, n);
    if (Array.isArray(v)) return v;
  }
  return undefined;
}

export function field(e: EngineEvent, name: string): unknown {
  return raw(e, name);
}

/** Checks one parsed JSON value is an event (a JSON-lines record from a trace file or the daemon). */
export function asEngineEvent(value: unknown): EngineEvent | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (typeof v.type !== 'string' || typeof v.seq !== 'number' || typeof v.time !== 'number') return undefined;
  return value as EngineEvent;
}
