// `dmsim stats`: dmstats 1.02.185's create, delete, clear, list, print and report, built on the dm core's
// `@stats_*` messages as dmstats builds them (lvm2 libdm/libdm-stats.c over DM_TARGET_MSG), and printing what
// it prints (its messages and refusals as recorded on the oracle: fixtures/dmsetup-dropin/kernel/dmstats-*.txt).

import { DmError, type DmErrorCode, InvalidArgumentError } from '../base/errors.js';
import {
  areaCount,
  parseCounters,
  parseRegionList,
  STATS_REPORT,
  type StatsRegion,
  type StatsRow,
  statsListReport,
  sumCounters,
} from './dmstats-report.js';
import type { StatsCommand, StatsCreate } from './grammar/stats.js';
import type { Verb, VerbArgs, VerbResult } from './protocol.js';
import { runReport } from './report.js';

/** What the stats commands need of the daemon: the devices, their sizes, and messages to the dm core. */
export interface StatsBackend {
  /** Every device's name, in listing order. */
  devices(): Promise<string[]>;
  sizeSectors(name: string): Promise<number>;
  message(name: string, words: string[]): Promise<string>;
}

/** The backend over a daemon connection (the CLI's, or the TUI's). */
export function clientStatsBackend(client: {
  request<V extends Verb>(verb: V, args: VerbArgs<V>): Promise<VerbResult<V>>;
}): StatsBackend {
  return {
    devices: async () => (await client.request('ls', {})).map((d) => d.name),
    sizeSectors: async (name) => (await client.request('table', { name })).reduce((n, l) => n + l.length, 0),
    message: (name, words) => client.request('message', { name, sector: 0, message: words }),
  };
}

/**
 * Runs one stats command; resolves to what it prints on stdout, rejects with dmstats' refusal. What dmstats prints
 * on stderr without failing (the field list of `report -o help`) goes to `stderr`.
 */
export async function runStats(
  cmd: StatsCommand,
  backend: StatsBackend,
  stderr: (text: string) => void = () => {},
): Promise<string> {
  const devices = cmd.name !== undefined ? [cmd.name] : await backend.devices();
  const regionsOf = async (name: string): Promise<StatsRegion[]> =>
    parseRegionList(name, await backend.message(name, ['@stats_list', cmd.programId]));
  switch (cmd.command) {
    case 'create': {
      let out = '';
      for (const name of devices) out += await create(cmd, name, backend);
      return out;
    }
    case 'delete':
    case 'clear': {
      if (cmd.regions === undefined) {
        throw new DmstatsError('EINVAL', [
          cmd.command === 'delete'
            ? 'Please specify a --regionid or --groupid, or use --allregions.'
            : 'Please specify a --regionid or use --allregions.',
        ]);
      }
      const word = cmd.command === 'delete' ? '@stats_delete' : '@stats_clear';
      for (const name of devices) {
        const ids = 'regionId' in cmd.regions ? [cmd.regions.regionId] : (await regionsOf(name)).map((r) => r.id);
        for (const id of ids) await regionMessage(backend, name, [word, String(id)], cmd.command);
      }
      return '';
    }
    case 'print': {
      if (cmd.regions === undefined)
        throw new DmstatsError('EINVAL', ['Please specify a --regionid or use --allregions.']);
      let out = '';
      for (const name of devices) {
        if ('regionId' in cmd.regions) {
          out += await regionMessage(backend, name, ['@stats_print', String(cmd.regions.regionId)], 'print');
          continue;
        }
        // dmstats 1.02.185 prints every region twice with --allregions (its walk visits each region twice).
        for (const r of await regionsOf(name)) {
          const text = await backend.message(name, ['@stats_print', String(r.id)]);
          out += text + text;
        }
      }
      return out;
    }
    case 'list': {
      const rows: StatsRow[] = [];
      for (const name of devices) {
        for (const region of await regionsOf(name)) rows.push({ region, type: 'region', areaId: 0, counters: NONE });
      }
      return runReport(statsListReport(cmd.histogram), rows, {}).stdout;
    }
    case 'report': {
      const areas: StatsRow[] = [];
      const wholes: StatsRow[] = [];
      for (const name of devices) {
        for (const region of await regionsOf(name)) {
          // Each report is one sample: dmstats reads and clears the counters (@stats_print_clear).
          const text = await backend.message(name, ['@stats_print_clear', String(region.id)]);
          const counters = text
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => parseCounters(region, l));
          counters.forEach((c, areaId) => {
            areas.push({ region, type: 'area', areaId, counters: c });
          });
          if (counters.length > 1) wholes.push({ region, type: 'region', areaId: 0, counters: sumCounters(counters) });
        }
      }
      const out = runReport(STATS_REPORT, [...areas, ...wholes], cmd.report);
      if (out.stderr !== '') stderr(out.stderr);
      return out.stdout;
    }
  }
}

/**
 * A failure dmstats reports in its own words: `lines` as dmstats logs them (the dmsetup personality prints them
 * so, then "Command failed."); the message is the same in one line: "FIRST (second; ...)".
 */
export class DmstatsError extends DmError {
  constructor(
    code: DmErrorCode,
    readonly lines: readonly [string, ...string[]],
  ) {
    const more = lines.slice(1).map((l) => l.charAt(0).toLowerCase() + l.slice(1));
    super(code, more.length === 0 ? lines[0] : `${lines[0]} (${more.join('; ')})`);
  }
}

const NONE = parseCounters({ precise: true } as StatsRegion, '0+0 0 0 0 0 0 0 0 0 0 0 0 0 0');

/** A message about one region: ENOENT becomes dmstats' "Region ID N does not exist". */
async function regionMessage(backend: StatsBackend, name: string, words: string[], what: string): Promise<string> {
  try {
    return await backend.message(name, words);
  } catch (e) {
    if (e instanceof DmError && e.code === 'ENOENT') {
      throw new DmstatsError('ENOENT', [`Region ID ${words[1]} does not exist`, `Could not ${what} statistics region`]);
    }
    throw e;
  }
}

/** `dmstats create`: `@stats_create RANGE STEP [N FEATURES...] PROGRAM AUX`, then its area count and id. */
async function create(cmd: StatsCreate, name: string, backend: StatsBackend): Promise<string> {
  let range = '-';
  if (cmd.start !== undefined || cmd.length !== undefined) {
    const start = cmd.start ?? 0;
    const length = cmd.length ?? (await backend.sizeSectors(name)) - start;
    range = `${start}+${length}`;
  }
  const step = cmd.areaSize !== undefined ? String(cmd.areaSize) : `/${Math.max(1, cmd.areas ?? 1)}`;
  const features: string[] = [];
  const bounds = cmd.boundsNs ?? [];
  if (bounds.some((b, i) => i > 0 && b <= bounds[i - 1]!)) {
    throw new InvalidArgumentError(
      `Histogram boundaries must be in order of increasing magnitude. (${name}: could not create statistics region)`,
    );
  }
  // Bounds are in ms unless the region counts in ns; a bound finer than a millisecond needs ns counters.
  const precise = cmd.precise || bounds.some((b) => b % 1e6 !== 0);
  if (precise) features.push('precise_timestamps');
  if (bounds.length > 0) features.push(`histogram:${bounds.map((b) => (precise ? b : b / 1e6)).join(',')}`);
  const words = ['@stats_create', range, step];
  if (features.length > 0) words.push(String(features.length), ...features);
  words.push(cmd.programId, cmd.userData ?? '-');
  const id = Number(await backend.message(name, words));
  const region = parseRegionList(name, await backend.message(name, ['@stats_list'])).find((r) => r.id === id)!;
  return `${name}: Created new region with ${areaCount(region)} area(s) as region ID ${id}\n`;
}
