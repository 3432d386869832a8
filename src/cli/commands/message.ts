// `dmsim message NAME SECTOR MSG...`: dmsetup message (DM_TARGET_MSG to the target at SECTOR).

import type { Command } from 'commander';
import { formatMessageReply } from '../../control/dmsetup-format.js';
import {
  type JsonOptions,
  jsonOption,
  parseWholeNumber,
  printJson,
  type SocketOptions,
  socketOption,
  withDaemon,
} from '../daemon-session.js';

export function registerMessage(program: Command): void {
  jsonOption(
    socketOption(
      program
        .command('message')
        .description('send a message to the target that maps SECTOR')
        .argument('<name>')
        .argument('<sector>')
        .argument('<message...>'),
    ),
  ).action(async (name: string, sectorText: string, message: string[], opts: SocketOptions & JsonOptions) => {
    const sector = parseWholeNumber('SECTOR', sectorText);
    await withDaemon(opts, async (c) => {
      const reply = await c.request('message', { name, sector, message });
      if (opts.json) printJson({ reply });
      else process.stdout.write(formatMessageReply(reply));
    });
  });
}
