// EngineEvent: what the view-model store reduces. An engine event is a typed DmEvent: from the in-process bus,
// or checked once where it came off the daemon's socket (src/control/event-schema.ts, in ControlClient.events)
// or out of a recording; so the store reads its fields as typed. The UI's own notes (device snapshots, pause,
// command output, lesson steps, a dropped event) are typed here the same way.

import type { DmEvent } from '../../src/base/events.js';

/** The UI's notes, by kind (ViewStore.note stamps them like events). */
export interface TuiEventMap {
  /** A fresh snapshot of a device, taken through the verbs (its export from `ls`, as the daemon replied). */
  'tui.device': { name: string; table: string; status: string; state: string; failed?: boolean; export?: unknown };
  'tui.device-gone': { device: string };
  'tui.paused': { paused: boolean };
  /** The UI's clock: closes throughput buckets while no engine event arrives. */
  'tui.tick': Record<string, never>;
  'tui.output': { text: string };
  /** A lesson step's outcome (scenario mode). */
  'tui.lesson': { text: string; error: boolean };
  /** Opens an event-log entry to read in full (enter, or `show N`); null closes it. */
  'tui.open': { entry: number | null };
  /** An event the daemon sent that the client's check refused (it is not reduced). */
  'tui.dropped': { reason: string };
}

export type TuiEventType = keyof TuiEventMap;

export type TuiEvent = { [K in TuiEventType]: { type: K; seq: number; time: number } & TuiEventMap[K] }[TuiEventType];

export type EngineEvent = DmEvent | TuiEvent;
