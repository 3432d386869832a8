// DeviceMapper: the dm core with every target dmsim has registered, as a kernel with dm-mod and the target
// modules loaded. The library's entry point; the daemon, the scenario runner and the TUI build on it.

import { DeviceMapperCore, type DeviceMapperOptions } from '../src/dm/device-mapper-core.js';
import { TargetRegistry } from '../src/dm/target-registry.js';
import { registerBuiltinTargets } from './builtin-targets.js';

export class DeviceMapper extends DeviceMapperCore {
  /** `options.registry` replaces the built-in target types (tests of target registration pass their own). */
  constructor(options: DeviceMapperOptions = {}) {
    super({ ...options, registry: options.registry ?? builtinTargetRegistry() });
  }
}

/** A registry holding every built-in target type, in the kernel's registration order. */
function builtinTargetRegistry(): TargetRegistry {
  const registry = new TargetRegistry();
  registerBuiltinTargets(registry);
  return registry;
}
