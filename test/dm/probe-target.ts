// A test target that records every bio it is given and lets a test decide when each completes.
// Table: `probe <maxIoSectors> [fail-preresume]`. Messages: `event` raises a dm event, anything else echoes.

import { IoError } from '../../src/base/errors.js';
import type { Bio } from '../../src/dm/bio.js';
import type { DmDevice, Target, TargetContext, TargetType } from '../../src/dm/target.js';

export interface ProbeRecord {
  device: string;
  begin: number;
  bio: Bio;
  complete: () => void;
  fail: () => void;
}

export class ProbeLog {
  readonly records: ProbeRecord[] = [];
  readonly hooks: string[] = [];
  /** When true, bios wait for complete()/fail(); otherwise they complete at once. */
  gated = false;
}

export function probeTargetType(log: ProbeLog): TargetType {
  return {
    name: 'probe',
    version: [0, 0, 1],
    async create(ctx: TargetContext, args: string[]): Promise<Target> {
      const maxIoSectors = Number(args[0] ?? 0);
      const failPreresume = args[1] === 'fail-preresume';
      const tag = `${ctx.deviceName}@${ctx.begin}`;
      return {
        maxIoSectors,
        map(bio: Bio): Promise<void> {
          return new Promise<void>((resolve, reject) => {
            const rec: ProbeRecord = {
              device: ctx.deviceName,
              begin: ctx.begin,
              bio: { ...bio },
              complete: resolve,
              fail: () => reject(new IoError(`probe ${tag}: failed on purpose`)),
            };
            log.records.push(rec);
            if (!log.gated) resolve();
          });
        },
        status: (type) =>
          type === 'info' ? `bios=${log.records.filter((r) => r.device === ctx.deviceName).length}` : args.join(' '),
        async message(words: string[]): Promise<string> {
          if (words[0] === 'event') ctx.raiseEvent();
          return words.join(' ');
        },
        presuspend: async ({ noflush }) => void log.hooks.push(`presuspend ${tag}${noflush ? ' noflush' : ''}`),
        postsuspend: async () => void log.hooks.push(`postsuspend ${tag}`),
        preresume: async () => {
          log.hooks.push(`preresume ${tag}`);
          if (failPreresume) throw new IoError(`probe ${tag}: preresume refused`);
        },
        resume: async () => void log.hooks.push(`resume ${tag}`),
        devices: (): DmDevice[] => [],
        destroy: async () => void log.hooks.push(`destroy ${tag}`),
      };
    },
  };
}

/** Lets pending promise callbacks run. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 10; i++) await new Promise<void>((r) => setImmediate(r));
}
