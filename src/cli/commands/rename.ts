// `dmsim rename NAME NEW_NAME` / `dmsim rename NAME --setuuid UUID`: dmsetup rename (DM_DEV_RENAME).

import type { Command } from 'commander';
import { registerVerb, withDaemon } from '../daemon-session.js';

export function registerRename(program: Command): void {
  registerVerb(program, 'rename', {}, async (args, opts) => {
    await withDaemon(opts, (c) => c.request('rename', args));
  });
}
