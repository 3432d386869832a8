// The shared wait (test/support/wait.ts): it probes again only when woken, misses no wake that comes while a
// probe runs, and fails with what it waited for and the state then. The expectations are the helper's
// contract; the fake wake source below stands for a bus.

import { describe, expect, it } from 'vitest';
import { EventBus } from '../../src/base/events.js';
import { MemoryDevice } from '../../src/block/memory-device.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { untilStatus, type Wake, waitFor } from './wait.js';

/** A wake source the test fires by hand. */
function manualWake(): { wake: Wake; fire(): void; listeners(): number } {
  const listeners = new Set<() => void>();
  return {
    wake: (notify) => {
      listeners.add(notify);
      return () => listeners.delete(notify);
    },
    fire: () => {
      for (const l of listeners) l();
    },
    listeners: () => listeners.size,
  };
}

describe('waitFor', () => {
  it('probes once at first and once per wake, resolves with the first value, and unsubscribes', async () => {
    const src = manualWake();
    let probes = 0;
    let ready = false;
    const waiting = waitFor(
      'ready',
      () => {
        probes++;
        return ready ? 'done' : undefined;
      },
      src.wake,
      () => 'state',
    );
    await Promise.resolve();
    expect(probes).toBe(1);
    src.fire();
    await new Promise((r) => setImmediate(r));
    expect(probes).toBe(2);
    ready = true;
    src.fire();
    expect(await waiting).toBe('done');
    expect(probes).toBe(3);
    expect(src.listeners()).toBe(0);
  });

  it('does not lose a wake that comes while a probe is still running', async () => {
    const src = manualWake();
    let value: string | undefined;
    const waiting = waitFor(
      'the value',
      async () => {
        const seen = value;
        value = 'set while probing';
        src.fire(); // the change and its event land before this probe answers "not yet"
        return seen;
      },
      src.wake,
      () => 'state',
    );
    expect(await waiting).toBe('set while probing');
  });

  it('fails after its bound naming what it waited for and the state then', async () => {
    const src = manualWake();
    await expect(
      waitFor(
        'the moon',
        () => undefined,
        src.wake,
        () => 'status: no moon',
        20,
      ),
    ).rejects.toThrow(/gave up after 0\.02 s waiting for the moon; the state then:\nstatus: no moon/);
    expect(src.listeners()).toBe(0);
  });
});

describe('untilStatus', () => {
  it("wakes on the device-mapper's bus: a mirror's resync is seen without polling", async () => {
    const dm = new DeviceMapper({ bus: new EventBus() });
    for (const leg of ['a', 'b']) dm.addBackingDevice(leg, new MemoryDevice(leg, 256));
    await dm.create('m', '0 256 mirror core 1 64 2 a 0 b 0');
    expect(await untilStatus(dm, 'm', 'in sync', (st) => st.includes(' 4/4 '))).toMatch(/^2 a b 4\/4 1 AA 1 core$/);
    await dm.close();
  });
});
