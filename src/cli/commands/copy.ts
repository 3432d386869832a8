// `dmsim copy --from DEV:SECTOR+COUNT --to DEV:SECTOR [--to ...]` (or `SOURCE DEST...`, or `--zero --to DEV:SECTOR+COUNT`):
// runs one kcopyd job over files or block devices, in this process (no daemon), shows a progress line on a
// terminal and prints the kernel's two completion values, `read_err=N write_err=0xBITS`, and the throughput.
// Exit status 0 only when both are zero.

import { promises as fsp } from 'node:fs';
import type { Command } from 'commander';
import { SECTOR_SIZE } from '../../base/size.js';
import type { FileDevice } from '../../block/file-device.js';
import type { CopyJob } from '../../control/grammar/verbs.js';
import type { RegionSpec } from '../../control/grammar/words.js';
import type { IoRegion, KcopydResult } from '../../kcopyd/types.js';
import { registerVerb } from '../daemon-session.js';

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
  const { FileDevice } = await import('../../block/file-device.js');
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

/** Runs the job the grammar parsed (its refusals came before any I/O). */
export async function runCopy(
  job: CopyJob,
  progress: (done: number, total: number, seconds: number) => void,
): Promise<CopyOutcome> {
  const { source: from, dests: to, count, subJobSectors, sharedPoolPages, reservePages } = job;
  // The engine is loaded here, not at the top: every other verb would pay for it at start-up.
  const [{ EventBus }, { KcopydEngine }, { openTraceFile }] = await Promise.all([
    import('../../base/events.js'),
    import('../../kcopyd/engine.js'),
    import('../../dm/trace-file.js'),
  ]);
  const bus = new EventBus();
  const engine = new KcopydEngine({ bus, subJobSectors, sharedPoolPages });
  const devices = await openDevices([
    ...(from ? [{ spec: from, write: false }] : []),
    ...to.map((spec) => ({ spec, write: true })),
  ]);
  const trace = job.trace ? openTraceFile(bus, job.trace) : null;
  try {
    const client = engine.createClient({ owner: 'copy', reservePages });
    const started = performance.now();
    const seconds = (): number => (performance.now() - started) / 1000;
    // Only the two kinds this line shows: without a trace no other kcopyd event is built at all (listening to
    // every kind made a 512 MiB copy run at half the engine's speed).
    const off = bus.on(
      (e) => {
        if (e.type === 'kcopyd.progress') progress(e.doneSectors, e.totalSectors, seconds());
        else if (e.type === 'kcopyd.io-error')
          process.stderr.write(`dmsim: ${e.op} error on ${e.device} sectors ${e.sector}+${e.count}: ${e.message}\n`);
      },
      (type) => type === 'kcopyd.progress' || type === 'kcopyd.io-error',
    );
    const region = (spec: RegionSpec): IoRegion => ({ bdev: devices.get(spec.path)!, sector: spec.sector, count });
    const flags = { ignoreError: job.ignoreError };
    const result = from
      ? await client.copyAsync(region(from), to.map(region), flags)
      : await client.zeroAsync(to.map(region), flags);
    const elapsed = seconds();
    off();
    await client.destroy();
    if (job.fsync) await Promise.all(to.map((t) => devices.get(t.path)!.flush()));
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
  registerVerb(program, 'copy', { socket: false }, async (job) => {
    const tty = process.stderr.isTTY === true;
    let lastDraw = 0;
    const outcome = await runCopy(job, (done, total, seconds) => {
      if (!tty || (performance.now() - lastDraw < 100 && done < total)) return;
      lastDraw = performance.now();
      const rate = seconds > 0 ? ((done * SECTOR_SIZE) / 2 ** 20 / seconds).toFixed(1) : '-';
      process.stderr.write(
        `\r\x1b[K${mib(done)} / ${mib(total)} MiB (${Math.floor((100 * done) / Math.max(total, 1))}%) ${rate} MiB/s`,
      );
    });
    if (tty && lastDraw > 0) process.stderr.write('\r\x1b[K');
    process.stdout.write(`read_err=${outcome.readErr ? 1 : 0} write_err=0x${(outcome.writeErr >>> 0).toString(16)}\n`);
    const rate = outcome.seconds > 0 ? ((outcome.sectors * SECTOR_SIZE) / 2 ** 20 / outcome.seconds).toFixed(1) : 'inf';
    const failed = outcome.readErr || outcome.writeErr !== 0;
    const verb = `${failed ? 'failed to ' : ''}${job.source === null ? (failed ? 'zero' : 'zeroed') : failed ? 'copy' : 'copied'}`;
    process.stdout.write(
      `${verb} ${outcome.sectors} sectors (${mib(outcome.sectors)} MiB) in ${outcome.seconds.toFixed(3)} s: ${rate} MiB/s\n`,
    );
    if (failed) process.exitCode = 1;
  });
}
