// One line that says what a scenario step does, for the TAP report and the TUI ("write 0xab to device
// origin sectors 0+8").

import type { CopyRegion, IoTarget, Pattern, Step } from './schema.js';
import { conditionText } from './wait-condition.js';

const where = (t: IoTarget): string => ('device' in t ? `device ${t.device}` : `image ${t.image}`);
const region = (r: CopyRegion, count?: number): string => `${where(r.target)} ${r.sector}+${r.count ?? count}`;
const pattern = (p: Pattern | { sha256: string }): string =>
  'byte' in p
    ? `0x${p.byte.toString(16).padStart(2, '0')}`
    : 'seed' in p
      ? `seed "${p.seed}"`
      : `sha256 ${p.sha256.slice(0, 12)}...`;

export function describeStep(step: Step): string {
  const expectsError = step.fails ? ` (must fail with ${step.fails.code})` : '';
  return describe(step) + expectsError;
}

function describe(step: Step): string {
  switch (step.do) {
    case 'note':
      return 'note';
    case 'restart':
      return 'restart the device-mapper (re-create every device from its table)';
    case 'image':
      return `image ${step.name} (${step.sizeSectors} sectors)`;
    case 'create':
    case 'load':
    case 'reload':
      return `${step.do} ${step.name}: ${step.table.split('\n').join(' | ')}`;
    case 'suspend':
      return `suspend ${step.name}${step.noflush ? ' --noflush' : ''}`;
    case 'remove':
      return `remove ${step.name}${step.force ? ' --force' : ''}`;
    case 'resume':
    case 'flush':
    case 'fail':
    case 'heal':
      return `${step.do} ${step.name}`;
    case 'message':
      return `message ${step.name} ${step.sector} ${step.args.join(' ')}`;
    case 'write':
      return `write ${pattern(step.pattern)} to ${where(step.to)} sectors ${step.sector}+${step.count}`;
    case 'read':
      return `read ${where(step.from)} sectors ${step.sector}+${step.count}: expect ${pattern(step.expect)}`;
    case 'copy':
      return `kcopyd copy ${region(step.from)} -> ${step.to.map((r) => region(r, step.from.count)).join(', ')}${step.ignoreError ? ' with IGNORE_ERROR' : ''}${step.followedBy.length > 0 ? ` (+${step.followedBy.length} queued behind it)` : ''}`;
    case 'wait':
      return `wait until ${step.name} is ${conditionText(step)}`;
    case 'expect-status':
    case 'expect-table': {
      const what = `${step.do === 'expect-status' ? 'status' : 'table'} of ${step.name}`;
      const line = literalLine(step.match);
      return line !== undefined ? `${what} is: ${line}` : `${what} matches /${step.match.source}/`;
    }
  }
}

/**
 * The one line a pattern like `^0 2048 snapshot 16/2048 16$` accepts, as the reader should see it (not the
 * pattern's escaped source); undefined for a pattern that accepts more than one line.
 */
function literalLine(re: RegExp): string | undefined {
  const m = /^\^(.*)\$$/.exec(re.source);
  if (!m || re.flags.replace('u', '') !== '') return undefined;
  const body = m[1]!;
  // Unescaped metacharacters make it a real pattern; an escaped one stands for itself.
  if (/(^|[^\\])[.*+?()[\]{}|^$]/.test(body) || /\\[A-Za-z0-9]/.test(body)) return undefined;
  return body.replace(/\\(.)/g, '$1');
}
