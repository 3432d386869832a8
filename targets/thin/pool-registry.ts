// The pools of one device-mapper instance (dm-thin.c: dm_thin_pool_table, __pool_table_lookup and
// __pool_table_lookup_metadata_dev): keyed by the mapped device whose thin-pool table made them.

import type { KcopydEnvironment } from '../../src/kcopyd/environment.js';
import type { Pool, ThinPoolParameters } from './pool.js';

export class PoolRegistry {
  /** Default: 60 s, as 6.1 (reference/thin-jobs/job2.out). */
  readonly parameters: ThinPoolParameters = { noSpaceTimeout: 60 };
  private readonly byDevice = new Map<string, Pool>();

  get(mdName: string): Pool | undefined {
    return this.byDevice.get(mdName);
  }

  /** The pool using this metadata device (compared by the name the tables gave it), if any. */
  byMetadataDevice(name: string): Pool | undefined {
    return [...this.byDevice.values()].find((p) => p.metadataDevice.name === name);
  }

  add(pool: Pool): void {
    this.byDevice.set(pool.mdName, pool);
  }

  remove(pool: Pool): void {
    if (this.byDevice.get(pool.mdName) === pool) this.byDevice.delete(pool.mdName);
  }
}

const registries = new WeakMap<KcopydEnvironment, PoolRegistry>();

/** The registry of the device-mapper instance whose kcopyd environment this is (one per DeviceMapper). */
export function poolRegistryFor(env: KcopydEnvironment): PoolRegistry {
  let r = registries.get(env);
  if (!r) {
    r = new PoolRegistry();
    registries.set(env, r);
  }
  return r;
}
