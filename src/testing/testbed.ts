// Testbed: a private device-mapper for one test — its own DeviceMapper and event bus, a temporary directory
// for images, and a teardown that leaves nothing behind even when the test fails: open handles closed, NBD
// exports withdrawn, devices removed top of the stack first, the directory and its images deleted. The kernel
// has no twin; this is what a test suite of a storage tool otherwise writes by hand around `dmsetup`.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeviceMapper } from '../../targets/device-mapper.js';
import type { DeviceState, WaitCondition } from '../../targets/wait-condition.js';
import { DmError } from '../base/errors.js';
import { EventBus } from '../base/events.js';
import { makeImage } from '../block/image.js';
import { type WaitOptions, waitFor } from '../control/wait-for.js';
import type { DeviceMapperOptions } from '../dm/device-mapper-core.js';
import type { MappedBlockDevice } from '../dm/mapped-device.js';
import type { ExportOptions, ExportSummary, NbdExports } from '../nbd/export-registry.js';

export interface TestbedOptions extends Omit<DeviceMapperOptions, 'bus'> {
  /** Prefix of the temporary directory's name (default `dmsim-test-`). */
  prefix?: string;
}

export class Testbed {
  /** The private DeviceMapper: every dmsetup verb, on devices no other test sees. */
  readonly dm: DeviceMapper;
  /** Its own event bus: what a test subscribes to hears only this testbed. */
  readonly bus: EventBus;
  private readonly handles = new Set<MappedBlockDevice>();
  private exports: NbdExports | null = null;
  private closed = false;

  private constructor(
    /** The temporary directory images go in; gone after close(). */
    readonly dir: string,
    options: Omit<DeviceMapperOptions, 'bus'>,
  ) {
    this.bus = new EventBus();
    this.dm = new DeviceMapper({ ...options, bus: this.bus });
  }

  static async create(options: TestbedOptions = {}): Promise<Testbed> {
    const { prefix = 'dmsim-test-', ...dmOptions } = options;
    return new Testbed(await mkdtemp(join(tmpdir(), prefix)), dmOptions);
  }

  /** Makes a sparse image file `name` in the testbed's directory (size: 2048s, 64M, ...); returns its path. */
  async image(name: string, size: string): Promise<string> {
    const path = join(this.dir, name);
    await makeImage(path, size);
    return path;
  }

  /** Opens a mapped device for I/O; the testbed's close() closes it if the test did not (closing twice is harmless). */
  async open(name: string): Promise<MappedBlockDevice> {
    const dev = await this.dm.open(name);
    this.handles.add(dev);
    return dev;
  }

  /** Exports a mapped device over NBD (a unix socket in the testbed's directory unless `listen` says otherwise). */
  async exportNbd(name: string, options: ExportOptions = {}): Promise<ExportSummary> {
    if (!this.exports) {
      const { NbdExports } = await import('../nbd/export-registry.js');
      this.exports = new NbdExports({
        open: (n) => this.dm.open(n),
        defaultListen: { kind: 'unix', path: join(this.dir, 'nbd.sock') },
        bus: this.bus,
      });
    }
    return this.exports.export(name, options);
  }

  /** waitFor on this testbed's DeviceMapper (control/wait-for.ts). */
  waitFor(name: string, condition: WaitCondition, options?: WaitOptions): Promise<DeviceState> {
    return waitFor(this.dm, name, condition, options);
  }

  /**
   * Tears everything down, each step even when an earlier one failed: open handles, NBD exports, every device
   * (stacks top first), the directory with its images. Throws afterwards naming what could not be undone.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const failures: string[] = [];
    const step = async (what: string, fn: () => Promise<unknown>): Promise<void> => {
      try {
        await fn();
      } catch (e) {
        failures.push(`${what}: ${e instanceof Error ? e.message : String(e)}`);
      }
    };
    for (const h of [...this.handles]) await step(`closing ${h.name}`, () => h.close());
    if (this.exports) await step('withdrawing the NBD exports', () => this.exports!.close());
    await step('removing the devices', () => this.dm.close());
    await step(`deleting ${this.dir}`, () => rm(this.dir, { recursive: true, force: true }));
    if (failures.length > 0) throw new DmError('EBUSY', `testbed teardown left things behind: ${failures.join('; ')}`);
  }
}

/** Runs fn with a fresh testbed and always closes it, whether fn resolves or throws (fn's error wins). */
export async function withTestbed<T>(fn: (tb: Testbed) => Promise<T>, options?: TestbedOptions): Promise<T> {
  const tb = await Testbed.create(options);
  let result: T;
  try {
    result = await fn(tb);
  } catch (e) {
    await tb.close().catch(() => {});
    throw e;
  }
  await tb.close();
  return result;
}

/**
 * A vitest fixture: `const test = base.extend<{ tb: Testbed }>({ tb: testbedFixture })`; each test that names
 * `tb` gets a fresh testbed, closed after the test whether it passed or failed.
 */
// biome-ignore lint/correctness/noEmptyPattern: vitest reads a fixture's first parameter and wants a destructuring.
export async function testbedFixture({}: object, use: (tb: Testbed) => Promise<void>): Promise<void> {
  await withTestbed(use);
}
