// `dmsim copy --from DEV:SECTOR+COUNT --to DEV:SECTOR [--to ...]` (or `--zero --to DEV:SECTOR+COUNT ...`):
// runs one kcopyd job over files or block devices, in this process (no daemon), shows a progress line on a
// terminal and prints the kernel's two completion values, `read_err=N write_err=0xBITS`, and the throughput.
// Exit status 0 only when both are zero.

import { promises as fsp } from 'node:fs';
import type { Command } from 'commander';
import { InvalidArgumentError } from '../../base/errors.js';
import { EventBus } from '../../base/events.js';
import { SECTOR_SIZE } from '../../base/size.js';
import { FileDevice } from '../../block/file-device.js';
import { TraceFile } from '../../dm/trace-file.js';
import { KcopydEngine } from '../../kcopyd/engine.js';
import type { IoRegion, KcopydResult } from '../../kcopyd/types.js';

interface CopyOptions {
  from?: string;
  to: string[];
  zero?: boolean;
  ignoreError?: boolean;
  subjobSectors?: string;
  pages?: string;
  sharedPages?: string;
  trace?: string;
  fsync?: boolean;
}

/** DEV:SECTOR or DEV:SECTOR+COUNT as typed; the device part may itself contain ':'. */
interface RegionSpec {
  path: string;
  sector: number;
  count: number | null;
}

function parseRegionSpec(option: string, text: string): RegionSpec {
  const m = /^(.+):(\d+)(?:\+(\d+))?$/.exec(text);
  if (!m) {
    throw new InvalidArgumentError(
      `${option} '${text}': expected DEV:SECTOR or DEV:SECTOR+COUNT (whole 512-byte sectors), e.g. disk.img:2048+64`,
    );
  }
  const sector = Number(m[2]);
  const count = m[3] === undefined ? null : Number(m[3]);
  if (!Number.isSafeInteger(sector) || (count !== null && !Number.isSafeInteger(count))) {
    throw new InvalidArgumentError(`${option} '${text}': sector or count too large`);
  }
  return { path: m[1]!, sector, count };
}

function parseCount(option: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  if (!/^\d+$/.test(text)) throw new InvalidArgumentError(`${option} '${text}': expected a whole number`);
  return Number(text);
}

export interface CopyOutcome extends KcopydResult {
  sectors: number;
  seconds: number;
}

/** Opens every device once (a path named twice shares one open, so a block device is claimed once). */
async function openDevices(specs: { spec: RegionSpec; write: boolean }[]): Promise<Map<string, FileDevice>> {
  const writable = new Map<string, boolean>();
  const keys = new Map<RegionSpec, string>();
  for (const { spec, write } of specs) {
    const key = await fsp.realpath(spec.path).catch(() => spec.path);
    keys.set(spec, key);
    writable.set(key, (writable.get(key) ?? false) || write);
  }
  const opened = new Map<string, FileDevice>();
  try {
    for (const { spec } of specs) {
      const key = keys.get(spec)!;
      if (!opened.has(key))
        opened.set(key, await FileDevice.open(spec.path, { readOnly: !writable.get(key), name: spec.path }));
    }
  } catch (e) {
    await Promise.all([...opened.values()].map((d) => d.close()));
    throw e;
  }
  const byPath = new Map<string, FileDevice>();
  for (const { spec } of specs) byPath.set(spec.path, opened.get(keys.get(spec)!)!);
  return byPath;
}

/** Runs the job the options describe. Refusals throw before any I/O. */
export async function runCopy(
  opts: CopyOptions,
  progress: (done: number, total: number, seconds: number) => void,
): Promise<CopyOutcome> {
  if (opts.to.length === 0) throw new InvalidArgumentError('copy: give at least one --to DEV:SECTOR');
  if (opts.zero && opts.from !== undefined)
    throw new InvalidArgumentError('copy: --zero writes zeros and takes no --from');
  if (!opts.zero && opts.from === undefined)
    throw new InvalidArgumentError('copy: give --from DEV:SECTOR+COUNT (or --zero)');
  const from = opts.from === undefined ? null : parseRegionSpec('--from', opts.from);
  if (from && from.count === null)
    throw new InvalidArgumentError(`--from '${opts.from}': the source needs a count: DEV:SECTOR+COUNT`);
  const to = opts.to.map((t) => parseRegionSpec('--to', t));
  const count = from ? from.count! : to[0]!.count;
  if (count === null)
    throw new InvalidArgumentError(
      `--to '${opts.to[0]}': with --zero every destination needs a count: DEV:SECTOR+COUNT`,
    );
  to.forEach((t, i) => {
    if (t.count !== null && t.count !== count) {
      throw new InvalidArgumentError(
        `--to '${opts.to[i]}' has ${t.count} sectors but the ${from ? 'source' : 'first destination'} has ${count}`,
      );
    }
  });

  const subJobSectors = parseCount('--subjob-sectors', opts.subjobSectors);
  const sharedPoolPages = parseCount('--shared-pages', opts.sharedPages);
  const reservePages = parseCount('--pages', opts.pages);
  const bus = new EventBus();
  const engine = new KcopydEngine({ bus, subJobSectors, sharedPoolPages });
  const devices = await openDevices([
    ...(from ? [{ spec: from, write: false }] : []),
    ...to.map((spec) => ({ spec, write: true })),
  ]);
  const trace = opts.trace ? new TraceFile(bus, opts.trace) : null;
  try {
    const client = engine.createClient({ owner: 'copy', reservePages });
    const started = performance.now();
    const seconds = (): number => (performance.now() - started) / 1000;
    const off = bus.on((e) => {
      if (e.type === 'kcopyd.progress') progress(e.doneSectors, e.totalSectors, seconds());
      else if (e.type === 'kcopyd.io-error')
        process.stderr.write(`dmsim: ${e.op} error on ${e.device} sectors ${e.sector}+${e.count}: ${e.message}\n`);
    });
    const region = (spec: RegionSpec): IoRegion => ({ bdev: devices.get(spec.path)!, sector: spec.sector, count });
    const flags = { ignoreError: opts.ignoreError === true };
    const result = from
      ? await client.copyAsync(region(from), to.map(region), flags)
      : await client.zeroAsync(to.map(region), flags);
    const elapsed = seconds();
    off();
    await client.destroy();
    if (opts.fsync) await Promise.all(to.map((t) => devices.get(t.path)!.flush()));
    return { ...result, sectors: count, seconds: elapsed };
  } finally {
    await trace?.close();
    await Promise.all([...new Set(devices.values())].map((d) => d.close()));
  }
}

function mib(sectors: number): string {
  return ((sectors * SECTOR_SIZE) / 2 ** 20).toFixed(1);
}

export function registerCopy(program: Command): void {
  program
    .command('copy')
    .description('copy (or zero) a region of files or block devices with the kcopyd engine')
    .option('--from <DEV:SECTOR+COUNT>', 'the source region')
    .option(
      '--to <DEV:SECTOR[+COUNT]>',
      'a destination (up to 8; repeat the option)',
      (v: string, all: string[]) => [...all, v],
      [] as string[],
    )
    .option('--zero', 'write zeros to the destinations (they need +COUNT) instead of copying')
    .option('--ignore-error', 'DM_KCOPYD_IGNORE_ERROR: go on after errors, writing zeros for unreadable pages')
    .option('--subjob-sectors <n>', 'sub-job size in sectors, 8..2048 (default 1024)')
    .option('--pages <n>', "the client's page reserve (default: one sub-job's worth)")
    .option('--shared-pages <n>', 'limit the pages taken beyond the reserve (default: unlimited)')
    .option('--fsync', 'flush the destinations when done (not counted in the throughput)')
    .option('--trace <file>', 'write every engine event to FILE as JSON lines')
    .action(async (opts: CopyOptions) => {
      const tty = process.stderr.isTTY === true;
      let lastDraw = 0;
      const outcome = await runCopy(opts, (done, total, seconds) => {
        if (!tty || (performance.now() - lastDraw < 100 && done < total)) return;
        lastDraw = performance.now();
        const rate = seconds > 0 ? ((done * SECTOR_SIZE) / 2 ** 20 / seconds).toFixed(1) : '-';
        process.stderr.write(
          `\r\x1b[K${mib(done)} / ${mib(total)} MiB (${Math.floor((100 * done) / Math.max(total, 1))}%) ${rate} MiB/s`,
        );
      });
      if (tty && lastDraw > 0) process.stderr.write('\r\x1b[K');
      process.stdout.write(
        `read_err=${outcome.readErr ? 1 : 0} write_err=0x${(outcome.writeErr >>> 0).toString(16)}\n`,
      );
      const rate =
        outcome.seconds > 0 ? ((outcome.sectors * SECTOR_SIZE) / 2 ** 20 / outcome.seconds).toFixed(1) : 'inf';
      const failed = outcome.readErr || outcome.writeErr !== 0;
      const verb = `${failed ? 'failed to ' : ''}${opts.zero ? (failed ? 'zero' : 'zeroed') : failed ? 'copy' : 'copied'}`;
      process.stdout.write(
        `${verb} ${outcome.sectors} sectors (${mib(outcome.sectors)} MiB) in ${outcome.seconds.toFixed(3)} s: ${rate} MiB/s\n`,
      );
      if (failed) process.exitCode = 1;
    });
}
