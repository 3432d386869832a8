// `dmsim inspect NAME | FILE [--as cow|disk-log|auto] [--json]`: a device's structures from the daemon (snapshot
// store, mirror log, kcopyd lists), or an image file decoded here without a daemon. A NAME the daemon does not
// know that names a file in the current directory is read as an image.

import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { inspectImage } from '../../../targets/inspect-image.js';
import { InvalidArgumentError, isDmError } from '../../base/errors.js';
import { NoDaemonError } from '../../control/client.js';
import { FULL_FORMAT, formatDeviceInspection, formatImageInspection } from '../../control/inspect-format.js';
import { printJson, registerVerb, withDaemon } from '../daemon-session.js';

export function registerInspect(program: Command): void {
  registerVerb(program, 'inspect', { json: true }, async (words, opts) => {
    const image = async (file: string, format: 'cow' | 'disk-log' | 'auto'): Promise<void> => {
      const i = await inspectImage(file, format);
      if (opts.json) return printJson(i);
      process.stdout.write(`${formatImageInspection(file, i, FULL_FORMAT).join('\n')}\n`);
    };
    if ('file' in words) return image(words.file, words.format);
    const name = words.name;
    if (name === undefined) throw new InvalidArgumentError('inspect: give a device NAME or an image FILE');
    try {
      const targets = await withDaemon(opts, (c) => c.request('inspect', { name }));
      if (opts.json) return printJson(targets);
      process.stdout.write(`${formatDeviceInspection(name, targets, FULL_FORMAT).join('\n')}\n`);
    } catch (e) {
      // No such device, or no daemon at all: a file of that name is what was meant.
      if (existsSync(name) && (e instanceof NoDaemonError || (isDmError(e) && e.code === 'ENXIO')))
        return image(name, 'auto');
      throw e;
    }
  });
}
