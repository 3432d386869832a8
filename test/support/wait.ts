// Waiting on events, not on the clock: a condition is checked again each time something happens (an event on
// the engine's bus, an event from the daemon's stream, a write acknowledged), never on a timer. A generous
// bound only turns a wait that would hang into a failure whose message says what was awaited and what the
// device's state was then (its status line and info), instead of carrying on.

import { watch } from 'node:fs';
import type { EventBus } from '../../src/base/events.js';
import { ControlClient } from '../../src/control/client.js';
import type { DeviceMapper } from '../../targets/device-mapper.js';
import type { FrameTimer } from '../../tui/store/store.js';

/** Subscribes `notify` to whatever may change the condition; returns the function that unsubscribes. */
export type Wake = (notify: () => void) => () => void;

/** How long a wait may go without its condition holding before it fails (far above any healthy run). */
const WAIT_BOUND_MS = 30_000;

/**
 * Resolves with probe's first value that is not undefined, probing once now and again after each wake.
 * Rejects after boundMs with `what` and state().
 */
export async function waitFor<T>(
  what: string,
  probe: () => T | undefined | Promise<T | undefined>,
  wake: Wake,
  state: () => string | Promise<string>,
  boundMs = WAIT_BOUND_MS,
): Promise<T> {
  let woken = false;
  let resume: (() => void) | null = null;
  const unsubscribe = wake(() => {
    woken = true;
    resume?.();
  });
  let timer: ReturnType<typeof setTimeout> | undefined;
  const expired = new Promise<'expired'>((r) => {
    timer = setTimeout(() => r('expired'), boundMs);
  });
  try {
    for (;;) {
      woken = false;
      const value = await probe();
      if (value !== undefined) return value;
      // Something that happened while probe ran is not lost: probe again at once.
      if (!woken && (await Promise.race([new Promise<void>((r) => (resume = r)), expired])) === 'expired') {
        throw new Error(`gave up after ${boundMs / 1000} s waiting for ${what}; the state then:\n${await state()}`);
      }
      resume = null;
    }
  } finally {
    clearTimeout(timer);
    unsubscribe();
  }
}

/** Wakes on every event of an engine's bus. */
export const onBus =
  (bus: EventBus): Wake =>
  (notify) =>
    bus.on(() => notify());

/**
 * A TUI store's frame timer that never fires by itself (the test flushes) but wakes a waitFor each time the
 * store asks for a frame, which it does when an event reaches it.
 */
export function frameRequests(): { timer: FrameTimer; wake: Wake } {
  const listeners = new Set<() => void>();
  return {
    timer: {
      setTimer: () => {
        for (const l of listeners) l();
        return () => undefined;
      },
    },
    wake: (notify) => {
      listeners.add(notify);
      return () => listeners.delete(notify);
    },
  };
}

/** Wakes when any of these files is written (inotify, through fs.watch): for data another process writes. */
export const onFileChange =
  (...paths: string[]): Wake =>
  (notify) => {
    const watchers = paths.map((p) => watch(p, () => notify()));
    return () => {
      for (const w of watchers) w.close();
    };
  };

/** `NAME: status <params> | info <open count, event number, ...>` of an in-process device, for failure messages. */
export async function deviceState(dm: DeviceMapper, name: string): Promise<string> {
  try {
    const status = (await dm.status(name)).map((l) => `${l.start} ${l.length} ${l.target} ${l.params}`).join('; ');
    return `${name}: status ${status} | info ${JSON.stringify((await dm.info(name))[0])}`;
  } catch (e) {
    return `${name}: ${(e as Error).message}`;
  }
}

/**
 * Waits until the status params of an in-process device satisfy holds (checked after each event on the
 * device-mapper's bus); resolves with those params.
 */
export function untilStatus(
  dm: DeviceMapper,
  name: string,
  what: string,
  holds: (params: string) => boolean,
): Promise<string> {
  return waitFor(
    `${name} ${what}`,
    async () => {
      const params = (await dm.status(name)).map((l) => l.params).join('; ');
      return holds(params) ? params : undefined;
    },
    onBus(dm.bus),
    () => deviceState(dm, name),
  );
}

/** Wakes on every event of the daemon at `socket` (its event stream, on a connection of its own). */
async function onDaemon(socket: string): Promise<{ wake: Wake; close(): void }> {
  const stream = await ControlClient.connect(socket);
  const listeners = new Set<() => void>();
  await stream.events(() => {
    for (const l of listeners) l();
  });
  return {
    wake: (notify) => {
      listeners.add(notify);
      return () => listeners.delete(notify);
    },
    close: () => stream.close(),
  };
}

/** `NAME: status [...] | info [...]` of a daemon's device, for failure messages. */
export async function daemonDeviceState(client: ControlClient, name: string): Promise<string> {
  const status = await client.request('status', { name }).catch((e: Error) => e.message);
  const info = await client.request('info', { name }).catch((e: Error) => e.message);
  return `${name}: status ${JSON.stringify(status)} | info ${JSON.stringify(info)}`;
}

/** untilStatus for a device of the daemon at `socket`, checked through `client` after each daemon event. */
export async function untilDaemonStatus(
  socket: string,
  client: ControlClient,
  name: string,
  what: string,
  holds: (params: string) => boolean,
): Promise<string> {
  const events = await onDaemon(socket);
  try {
    return await waitFor(
      `${name} ${what}`,
      async () => {
        const params = (await client.request('status', { name })).map((l) => l.params).join('; ');
        return holds(params) ? params : undefined;
      },
      events.wake,
      () => daemonDeviceState(client, name),
    );
  } finally {
    events.close();
  }
}
