// TuiSession: where the UI's engine lives. Embedded: a device-mapper engine in this process, served on a
// private control socket (the same protocol a daemon speaks, so the command line has one code path) with
// its kcopyd engine at hand for pause, step and copy. Attached: a running `dmsim daemon`, its event stream on
// one connection and its verbs on a pool of others, so a request the device holds (a write waiting for a
// mirror's repair) never holds up the commands typed to release it.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventBus } from '../src/base/events.js';
import type { BlockDevice } from '../src/block/block-device.js';
import { ControlClient } from '../src/control/client.js';
import { ControlClientPool } from '../src/control/client-pool.js';
import { ControlDaemon } from '../src/control/daemon.js';
import type { ControlEngine } from '../src/control/engine.js';
import { KcopydEngine } from '../src/kcopyd/engine.js';
import { AutoScheduler } from '../src/kcopyd/scheduler.js';
import type { EngineEvent } from './store/engine-event.js';

export interface TuiSession {
  readonly mode: 'embedded' | 'attach';
  /** Verbs: create, load, status ... (each on an idle connection of the pool). */
  readonly client: ControlClientPool;
  /** The in-process kcopyd engine, or null when attached (pause, step and copy need it). */
  readonly kcopyd: KcopydEngine | null;
  /** The in-process bus, or null when attached. */
  readonly bus: EventBus | null;
  /** Opens a mapped device as a block device (embedded only). */
  readonly openMapped: ((name: string) => Promise<BlockDevice>) | null;
  subscribe(listener: (e: EngineEvent) => void): () => void;
  close(): Promise<void>;
}

/** What the embedded session needs from the device-mapper library (DeviceMapper): the daemon's verbs, with
 * open() giving a full BlockDevice (kcopyd copies from and to /dev/mapper/NAME, the demo's load). */
interface EmbeddedEngine extends ControlEngine {
  open(name: string): Promise<BlockDevice>;
}

export interface EmbeddedOptions {
  makeEngine(bus: EventBus, kcopyd: KcopydEngine): EmbeddedEngine;
  /** Pages all kcopyd clients may take beyond their reserves (default unlimited). */
  sharedPoolPages?: number;
  subJobSectors?: number;
  version?: string;
}

export async function startEmbedded(options: EmbeddedOptions): Promise<TuiSession> {
  const bus = new EventBus();
  const kcopyd = new KcopydEngine({
    bus,
    scheduler: new AutoScheduler(),
    ...(options.sharedPoolPages !== undefined ? { sharedPoolPages: options.sharedPoolPages } : {}),
    ...(options.subJobSectors !== undefined ? { subJobSectors: options.subJobSectors } : {}),
  });
  const engine = options.makeEngine(bus, kcopyd);
  const dir = await mkdtemp(join(tmpdir(), 'dmsim-tui-'));
  const daemon = new ControlDaemon({ engine, bus, version: options.version ?? '0.1.0' });
  try {
    await daemon.listen(join(dir, 'control.sock'));
  } catch (e) {
    await rm(dir, { recursive: true, force: true });
    throw e;
  }
  const client = await ControlClientPool.connect(join(dir, 'control.sock'));
  return {
    mode: 'embedded',
    client,
    kcopyd,
    bus,
    openMapped: (name) => engine.open(name),
    subscribe: (listener) => bus.on(listener),
    async close() {
      client.close();
      kcopyd.scheduler.resume(); // a paused engine would never drain
      await daemon.close(); // closes the engine's devices and removes the socket
      await rm(dir, { recursive: true, force: true });
    },
  };
}

export async function attach(socketPath: string): Promise<TuiSession> {
  const client = await ControlClientPool.connect(socketPath);
  const stream = await ControlClient.connect(socketPath).catch((e: unknown) => {
    client.close();
    throw e;
  });
  const listeners = new Set<(e: EngineEvent) => void>();
  const publish = (e: EngineEvent): void => {
    for (const l of listeners) l(e);
  };
  // Events come checked (ControlClient.events); one the check refused reaches the log as a note of why.
  await stream.events(publish, (reason) => publish({ type: 'tui.dropped', seq: 0, time: Date.now(), reason }));
  return {
    mode: 'attach',
    client,
    kcopyd: null,
    bus: null,
    openMapped: null,
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    async close() {
      stream.close();
      client.close();
    },
  };
}
