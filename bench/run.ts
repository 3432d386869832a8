// `npm run bench -- NAME [args]`: runs bench/NAME.ts, each of which measures dmsim against a reference
// tool (dd, cp, nbdkit) in the same run and prints the ratio. `npm run bench -- all [NAME...]` runs every one
// found here (or those named) and writes one table of their figures (_all.ts).

import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_'))
  .map((f) => f.slice(0, -3))
  .sort();
const [name, ...args] = process.argv.slice(2);
if (name === 'all') {
  const { runAll } = await import('./_all.js');
  await runAll(here, available, args);
} else {
  if (!name || !available.includes(name)) {
    process.stderr.write(`usage: npm run bench -- <${available.join('|')}|all> [args]\n`);
    process.exit(2);
  }
  const mod = (await import(join(here, `${name}.ts`))) as { main(args: string[]): Promise<void> };
  await mod.main(args);
}
