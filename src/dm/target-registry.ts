// The registry of target types (dm-target.c: dm_register_target / dm_get_target_type / `dmsetup targets`).

import { ExistsError } from '../base/errors.js';
import type { TargetType } from './target.js';

export class TargetRegistry {
  private readonly types = new Map<string, TargetType>();
  /** Modules not loaded yet, by each target name they provide (the kernel's request_module on first use). */
  private readonly modules = new Map<string, () => readonly TargetType[]>();

  /**
   * A module loaded when a table first names one of its targets (dm_get_target_type -> request_module): its
   * types are registered then, in the module's order, and only then does `dmsetup targets` list them.
   */
  registerModule(names: readonly string[], load: () => readonly TargetType[]): void {
    for (const n of names) {
      if (this.types.has(n) || this.modules.has(n)) throw new ExistsError(`target type "${n}" is already registered`);
      this.modules.set(n, load);
    }
  }

  register(type: TargetType): void {
    if (this.types.has(type.name)) throw new ExistsError(`target type "${type.name}" is already registered`);
    this.types.set(type.name, type);
  }

  get(name: string): TargetType | undefined {
    const load = this.modules.get(name);
    if (load && !this.types.has(name)) {
      for (const [n, l] of this.modules) if (l === load) this.modules.delete(n);
      for (const t of load()) this.register(t);
    }
    return this.types.get(name);
  }

  /** Name and version of every registered type, as `dmsetup targets` lists them (most recently registered first). */
  list(): { name: string; version: readonly [number, number, number] }[] {
    return [...this.types.values()].reverse().map((t) => ({ name: t.name, version: t.version }));
  }
}
