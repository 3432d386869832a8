// The registry of target types (dm-target.c: dm_register_target / dm_get_target_type / `dmsetup targets`).

import { ExistsError } from '../base/errors.js';
import type { TargetType } from './target.js';

export class TargetRegistry {
  private readonly types = new Map<string, TargetType>();

  register(type: TargetType): void {
    if (this.types.has(type.name)) throw new ExistsError(`target type "${type.name}" is already registered`);
    this.types.set(type.name, type);
  }

  get(name: string): TargetType | undefined {
    return this.types.get(name);
  }

  /** Name and version of every registered type, as `dmsetup targets` lists them (most recently registered first). */
  list(): { name: string; version: readonly [number, number, number] }[] {
    return [...this.types.values()].reverse().map((t) => ({ name: t.name, version: t.version }));
  }
}
