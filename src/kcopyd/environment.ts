// KcopydEnvironment: what every kcopyd client of one engine shares — the worker scheduler (so the TUI can
// pause and single-step all copying), the optional shared page pool, the sub-job size and the event bus.
// CONTRACT (implemented by the kcopyd module):
//   env.createClient({ reservePages?, owner, throttle? }) -> KcopydClient

import type { KcopydClient, KcopydClientOptions } from './types.js';

export interface KcopydEnvironment {
  createClient(options: KcopydClientOptions): KcopydClient;
}
