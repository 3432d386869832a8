// waitFor: resolves once a device's status meets a condition (targets/wait-condition.ts), for an in-process
// DeviceMapper or for a daemon through a ControlClient. It is driven by events, as `dmsetup wait` is by the
// device's event counter, never by polling: it reads the status once, then again after every event about the
// device (the bus in process, the daemon's event stream over the socket). dmsetup has no such verb; lvm2 polls.

import { withParsedStatus } from '../../targets/status.js';
import {
  checkCondition,
  type DeviceState,
  describeCondition,
  statusText,
  type WaitCondition,
} from '../../targets/wait-condition.js';
import { InvalidArgumentError, TimeoutError } from '../base/errors.js';
import type { DeviceMapperCore } from '../dm/device-mapper-core.js';
import { ControlClient } from './client.js';
import { isAbout, mayBeAboutDevice } from './device-events.js';

export interface WaitOptions {
  /** Give up after this many milliseconds (wall time) with a TimeoutError naming the status seen last. */
  timeoutMs?: number;
}

/** Where a waiter reads a device and hears that it may have changed. */
interface WaitSource {
  state(name: string): Promise<DeviceState>;
  /** Calls onChange after each event about the device; resolves (once listening) to the unsubscribe. */
  watch(name: string, onChange: () => void): Promise<() => void>;
}

function engineSource(dm: DeviceMapperCore): WaitSource {
  return {
    async state(name) {
      const [info] = await dm.info(name);
      return { name, eventNr: info?.eventNr ?? 0, lines: withParsedStatus(await dm.status(name)) };
    },
    async watch(name, onChange) {
      return dm.bus.on((e) => {
        if (isAbout(e, name)) onChange();
      }, mayBeAboutDevice);
    },
  };
}

function clientSource(client: ControlClient): WaitSource {
  return {
    async state(name) {
      const lines = await client.request('status', { name });
      const [info] = await client.request('info', { name });
      return { name, eventNr: info?.eventNr ?? 0, lines: withParsedStatus(lines) };
    },
    async watch(name, onChange) {
      // `events` turns a connection into a stream for good, so the stream gets a connection of its own.
      const stream = await ControlClient.connect(client.socketPath);
      await stream.events(
        (e) => {
          if (isAbout(e, name)) onChange();
        },
        undefined,
        { device: name },
      );
      return () => stream.close();
    },
  };
}

/**
 * Resolves with the device's state once `condition` holds: 'sync' (every mirror in sync), 'merged' (every
 * snapshot-merge done), 'invalid' (a snapshot invalidated), `{ event: n }` (event counter at least n), or a
 * predicate over the typed status. Rejects at once when the condition can no longer hold (a merge failed, the
 * device has no such target, the device was removed), and with a TimeoutError after `timeoutMs`.
 *
 * @example
 *   await dm.load('origin', `0 ${size} snapshot-merge ${origin} ${cow} P 8`);
 *   await dm.resume('origin');
 *   await waitFor(dm, 'origin', 'merged', { timeoutMs: 10_000 });
 */
export async function waitFor(
  dm: DeviceMapperCore | ControlClient,
  name: string,
  condition: WaitCondition,
  options: WaitOptions = {},
): Promise<DeviceState> {
  const source = dm instanceof ControlClient ? clientSource(dm) : engineSource(dm);
  const timeoutMs = options.timeoutMs;
  if (timeoutMs !== undefined && !(timeoutMs >= 0)) {
    throw new InvalidArgumentError(`waitFor: timeoutMs must be a number of milliseconds >= 0, not ${timeoutMs}`);
  }
  return new Promise<DeviceState>((resolve, reject) => {
    let last: DeviceState | undefined;
    let settled = false;
    let checking = false;
    let again = false;
    let unwatch: (() => void) | undefined;
    let timer: NodeJS.Timeout | undefined;
    const finish = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      unwatch?.();
      fn();
    };
    // One status read at a time; events that arrive meanwhile ask for exactly one more.
    const check = async (): Promise<void> => {
      if (checking) {
        again = true;
        return;
      }
      checking = true;
      try {
        do {
          again = false;
          last = await source.state(name);
          const c = checkCondition(condition, last);
          const state = last;
          if (c.done) return finish(() => resolve(state));
          if (c.hopeless) {
            const why = `${name} can never be ${describeCondition(condition)}: ${c.hopeless} (status: ${statusText(last)})`;
            return finish(() => reject(new InvalidArgumentError(why)));
          }
        } while (again && !settled);
      } catch (e) {
        finish(() => reject(e));
      } finally {
        checking = false;
      }
    };
    if (timeoutMs !== undefined) {
      timer = setTimeout(() => {
        // The status now, not the one read last: that is what the caller will want to see.
        void source
          .state(name)
          .catch(() => last)
          .then((now) => {
            const seen = now ? statusText(now) : 'never read';
            const why = `${name} was not ${describeCondition(condition)} within ${timeoutMs} ms; its status: ${seen}`;
            finish(() => reject(new TimeoutError(why)));
          });
      }, timeoutMs);
    }
    // Listen first, then read: an event between the two cannot be missed.
    source
      .watch(name, () => void check())
      .then(
        (off) => {
          if (settled) off();
          else {
            unwatch = off;
            void check();
          }
        },
        (e: unknown) => finish(() => reject(e)),
      );
  });
}
