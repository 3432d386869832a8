// `dmsim info [NAME...]`: dmsetup info's long form for the named devices or all of them, or with -c the column
// report (-o FIELDS, --noheadings, --separator, --sort, --nameprefixes, --rows).

import type { Command } from 'commander';
import { infoText } from '../../control/dmsetup-reports.js';
import { printJson, registerVerb, reportEnvironment, withDaemon } from '../daemon-session.js';

export function registerInfo(program: Command): void {
  registerVerb(program, 'info', { json: true }, async (words, opts) => {
    await withDaemon(opts, async (c) => {
      if (opts.json) {
        if (words.names.length === 0) return printJson(await c.request('info', {}));
        const infos = [];
        for (const name of words.names) infos.push(...(await c.request('info', { name })));
        return printJson(infos);
      }
      const text = await infoText(c, words, reportEnvironment());
      process.stderr.write(text.stderr);
      process.stdout.write(text.stdout);
    });
  });
}
