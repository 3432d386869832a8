// createKcopydClient(numPages): the classic entry point from the kernel's kcopyd documentation
// (kcopyd_client_create(num_pages, &client)), on a process-wide default engine. The numPages pages are the
// client's reserve; the rest of the 6.1 semantics (shared allocator first, split, 8 in flight) apply.

import { InvalidArgumentError } from '../base/errors.js';
import { KcopydEngine } from './engine.js';
import type { KcopydThrottle } from './throttle.js';
import type { KcopydClient } from './types.js';

let defaultEngine: KcopydEngine | null = null;

/** The engine createKcopydClient uses: default bus, automatic scheduler, 1024-sector sub-jobs. */
export function defaultKcopydEngine(): KcopydEngine {
  defaultEngine ??= new KcopydEngine();
  return defaultEngine;
}

/** A client of the default engine with numPages pages of reserve (kcopyd_client_create). */
export function createKcopydClient(
  numPages: number,
  options: { owner?: string; throttle?: number | KcopydThrottle } = {},
): KcopydClient {
  if (!Number.isSafeInteger(numPages) || numPages < 1) {
    throw new InvalidArgumentError(
      `kcopyd: createKcopydClient needs a whole number of pages >= 1, got ${String(numPages)}`,
    );
  }
  return defaultKcopydEngine().createClient({
    owner: options.owner ?? 'kcopyd',
    reservePages: numPages,
    throttle: options.throttle,
  });
}
