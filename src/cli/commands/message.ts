// `dmsim message NAME SECTOR MSG...`: dmsetup message (DM_TARGET_MSG to the target at SECTOR).

import type { Command } from 'commander';
import { formatMessageReply } from '../../control/dmsetup-format.js';
import { printJson, registerVerb, withDaemon } from '../daemon-session.js';

export function registerMessage(program: Command): void {
  registerVerb(program, 'message', { json: true }, async (args, opts) => {
    await withDaemon(opts, async (c) => {
      const reply = await c.request('message', args);
      if (opts.json) printJson({ reply });
      else process.stdout.write(formatMessageReply(reply));
    });
  });
}
