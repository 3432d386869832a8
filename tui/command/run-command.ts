// Runs a parsed command line (parse-command.ts; the shared verbs' values come from src/control/grammar, as
// `dmsim`'s do) against the engine: dmsetup verbs through the control protocol, printed by the CLI's formatters
// (a `wait` is one more request in flight: the UI keeps going until its reply arrives), on the embedded engine's
// private daemon or a running one (export/unexport too, as the daemon serves NBD); read/write through the mapped
// device; copy through a kcopyd client of the embedded engine; mkimg on the local filesystem; fail/heal shortcuts.

import { writeFile } from 'node:fs/promises';
import { InvalidArgumentError } from '../../src/base/errors.js';
import { SECTOR_SIZE } from '../../src/base/size.js';
import type { BlockDevice } from '../../src/block/block-device.js';
import { FileDevice } from '../../src/block/file-device.js';
import { makeImage } from '../../src/block/image.js';
import {
  formatAllDevices,
  formatMessageReply,
  formatOneDevice,
  formatTableLines,
  formatTargets,
  formatVersion,
} from '../../src/control/dmsetup-format.js';
import { DMSIM_NUMBERS } from '../../src/control/dmsetup-report-fields.js';
import {
  depsText,
  infoText,
  lsText,
  type ReportEnvironment,
  splitnameReport,
} from '../../src/control/dmsetup-reports.js';
import { clientStatsBackend, runStats } from '../../src/control/dmstats.js';
import { readTableFile, writePayload } from '../../src/control/grammar/sources.js';
import type { CopyJob, TableSource } from '../../src/control/grammar/verbs.js';
import type { RegionSpec } from '../../src/control/grammar/words.js';
import { FULL_FORMAT, formatDeviceInspection, formatImageInspection } from '../../src/control/inspect-format.js';
import type { Verb, VerbArgs, VerbResult } from '../../src/control/protocol.js';
import { formatExplanation } from '../../src/control/status-history.js';
import { MAPPER_PREFIX } from '../../src/dm/device-pool.js';
import { tableText } from '../../src/dm/table-line.js';
import type { KcopydEnvironment } from '../../src/kcopyd/environment.js';
import type { IoRegion } from '../../src/kcopyd/types.js';
import { inspectImage } from '../../targets/inspect-image.js';
import { type DeviceState, describeCondition, statusText, type WaitCondition } from '../../targets/wait-condition.js';
import { type TuiCommand, USAGE } from './parse-command.js';

/** The control-protocol verbs the command line needs (ControlClient has exactly these). */
interface VerbClient {
  request<V extends Verb>(verb: V, args: VerbArgs<V>): Promise<VerbResult<V>>;
  read(name: string, sector: number, count: number): Promise<Buffer>;
  write(name: string, sector: number, buf: Buffer): Promise<void>;
}

export interface CommandContext {
  client: VerbClient;
  /** The embedded engine's kcopyd (null when attached to a daemon: `copy` then refuses). */
  kcopyd: KcopydEnvironment | null;
  /** Opens /dev/mapper/NAME as a block device (embedded engine only). */
  openMapped: ((name: string) => Promise<BlockDevice>) | null;
  /** `wait --for`: resolves once the device meets the condition (control/wait-for.ts, on the session's client). */
  waitFor(name: string, condition: WaitCondition, timeoutMs?: number): Promise<DeviceState>;
  /** Tables replaced by `fail`, by device name, for `heal`. */
  failed: Map<string, string>;
  /** Takes a fresh snapshot of a device into the store (after it changed, or to drop it when gone). */
  refresh(name: string): Promise<void>;
  pause(): string;
  unpause(): string;
  step(): string;
  /** Opens event-log entry n in full; says what it opened, or throws when n is not in the list. */
  show(n: number): string;
  quit(): Promise<void>;
}

/** A short description of read data: runs of equal bytes, e.g. "0xab x4096, 0x00 x512". */
function describeBytes(buf: Buffer): string {
  const runs: string[] = [];
  let i = 0;
  while (i < buf.length && runs.length < 6) {
    let j = i;
    while (j < buf.length && buf[j] === buf[i]) j++;
    runs.push(`0x${buf[i]!.toString(16).padStart(2, '0')} x${j - i}`);
    i = j;
  }
  return runs.join(', ') + (i < buf.length ? ', ...' : '');
}

/** A formatter's text without its final newline (the message line and events panel take lines). */
/** The TUI's reports: dmsim's numbers; the tree in UTF-8 symbols (Ink draws UTF-8) and not truncated here. */
const TUI_REPORTS: ReportEnvironment = { numbers: DMSIM_NUMBERS, utf8: true, termWidth: 1000 };

function shown(text: string): string {
  return text.replace(/\n$/, '');
}

async function deviceNames(client: VerbClient): Promise<string[]> {
  return (await client.request('ls', {})).map((d) => d.name);
}

/** A table the command line names: its words, or a file (the UI has no stdin to read one from). */
async function lineTable(verb: string, source: TableSource): Promise<string> {
  if ('text' in source) return source.text;
  if ('file' in source) return readTableFile(source.file);
  throw new InvalidArgumentError(`${verb}: give the table after NAME (table lines separated by ";") or a file`);
}

/** Runs one command; resolves to the text to show (dmsetup's output for the read verbs). */
export async function runCommand(cmd: TuiCommand, ctx: CommandContext): Promise<string> {
  const c = ctx.client;
  switch (cmd.verb) {
    case 'create': {
      const { name } = cmd.args.args;
      await c.request('create', { ...cmd.args.args, table: await lineTable('create', cmd.args.table) });
      await ctx.refresh(name);
      return `created ${name}`;
    }
    case 'load': {
      const { name } = cmd.args;
      await c.request('load', { name, table: await lineTable('load', cmd.args.table) });
      await ctx.refresh(name);
      return `loaded the inactive table of ${name} (resume ${name} to make it live)`;
    }
    case 'suspend':
      await c.request('suspend', cmd.args);
      await ctx.refresh(cmd.args.name);
      return `suspended ${cmd.args.name}`;
    case 'resume':
      await c.request('resume', cmd.args);
      await ctx.refresh(cmd.args.name);
      return `resumed ${cmd.args.name}`;
    case 'remove':
      await c.request('remove', cmd.args);
      ctx.failed.delete(cmd.args.name);
      await ctx.refresh(cmd.args.name);
      return `removed ${cmd.args.name}`;
    case 'remove_all': {
      const names = await deviceNames(c);
      await c.request('removeAll', cmd.args);
      ctx.failed.clear();
      // -f leaves busy devices in place with error tables: each name's snapshot says which.
      for (const n of names) await ctx.refresh(n);
      return names.length === 0 ? 'no devices to remove' : `removed all devices (${names.join(', ')})`;
    }
    case 'clear':
      await c.request('clear', cmd.args);
      await ctx.refresh(cmd.args.name);
      return `cleared the inactive table of ${cmd.args.name}`;
    case 'wait': {
      const words = cmd.args;
      if ('event' in words) return `${words.event.name}: event number ${await c.request('wait', words.event)}`;
      const state = await ctx.waitFor(words.name, words.condition, words.timeoutMs);
      return `${words.name} is ${describeCondition(words.condition)}: ${statusText(state)}`;
    }
    case 'flush':
      await c.request('flush', cmd.args);
      return `flushed ${cmd.args.name}`;
    case 'deps':
      return shown(await depsText(c, cmd.args, TUI_REPORTS));
    case 'targets':
      return shown(formatTargets(await c.request('targets', cmd.args)));
    case 'version':
      return shown(formatVersion(await c.request('version', cmd.args)));
    case 'message':
      return shown(formatMessageReply(await c.request('message', cmd.args))) || 'message sent';
    case 'status':
    case 'table': {
      const { name, target } = cmd.args;
      if ('explain' in cmd.args && name !== undefined)
        return shown(formatExplanation(await c.request('explain', { name })));
      const lines = cmd.verb === 'table' ? await c.request('table', cmd.args) : await c.request('status', cmd.args);
      // As the CLI prints them: with --target, only the matching lines (NAME: in front when listing all).
      if (target !== undefined) return shown(formatTableLines(lines, name === undefined));
      return shown(name !== undefined ? formatOneDevice(lines) : formatAllDevices(await deviceNames(c), lines));
    }
    case 'info': {
      const text = await infoText(c, cmd.args, TUI_REPORTS);
      return `${text.stderr}${text.stdout}`.replace(/\n+$/, '');
    }
    case 'ls':
      if (cmd.args.exec !== undefined) throw new InvalidArgumentError('ls --exec runs commands: use dmsim ls --exec');
      return shown(await lsText(c, cmd.args, TUI_REPORTS));
    case 'rename':
      await c.request('rename', cmd.args);
      if (cmd.args.newName !== undefined) {
        await ctx.refresh(cmd.args.name);
        await ctx.refresh(cmd.args.newName);
        return `renamed ${cmd.args.name} to ${cmd.args.newName}`;
      }
      return `set the uuid of ${cmd.args.name} to ${cmd.args.uuid}`;
    case 'splitname': {
      const text = splitnameReport(cmd.args.name, cmd.args.subsystem, cmd.args.report);
      return shown(`${text.stderr}${text.stdout}`);
    }
    case 'mknodes':
      return 'nothing to do: dmsim has no /dev/mapper nodes';
    case 'write': {
      const { name, sector, count, data } = cmd.args;
      await c.write(name, sector, await writePayload(data, count));
      const what = 'byte' in data ? `0x${data.byte.toString(16).padStart(2, '0')}` : data.file;
      return `wrote ${count} sectors of ${what} at sector ${sector} of ${name}`;
    }
    case 'read': {
      const { name, sector, count, out } = cmd.args;
      const buf = await c.read(name, sector, count);
      if (out !== undefined) await writeFile(out, buf);
      return `read ${count} sectors at ${sector} of ${name}${out !== undefined ? ` into ${out}` : ''}: ${describeBytes(buf)}`;
    }
    case 'copy':
      return copy(cmd.args, ctx);
    case 'mkimg': {
      const { path, size, force } = cmd.args;
      const bytes = await makeImage(path, size, { force });
      return `${path}: ${bytes / SECTOR_SIZE} sectors (${bytes} bytes), sparse`;
    }
    case 'export': {
      const exp = await c.request('export', cmd.args);
      await ctx.refresh(cmd.args.name);
      return `exported ${cmd.args.name}${exp.readOnly ? ' read-only' : ''}: ${exp.uri}`;
    }
    case 'stats':
      return shown(await runStats(cmd.args, clientStatsBackend(c))) || `stats ${cmd.args.command}: done`;
    case 'unexport':
      await c.request('unexport', cmd.args);
      await ctx.refresh(cmd.args.name);
      return `unexported ${cmd.args.name}`;
    case 'inspect': {
      const w = cmd.args;
      if ('file' in w)
        return formatImageInspection(w.file, await inspectImage(w.file, w.format), FULL_FORMAT).join('\n');
      if (w.name === undefined) throw new InvalidArgumentError('inspect: give a device NAME, or press i on a device');
      return formatDeviceInspection(w.name, await c.request('inspect', { name: w.name }), FULL_FORMAT).join('\n');
    }
    case 'fail':
      return fail(cmd.args.name, ctx);
    case 'heal':
      return heal(cmd.args.name, ctx);
    case 'pause':
      return ctx.pause();
    case 'unpause':
      return ctx.unpause();
    case 'step':
      return ctx.step();
    case 'show':
      return ctx.show(cmd.args.n);
    case 'help':
      return cmd.args.topic !== undefined ? `usage: ${USAGE[cmd.args.topic]}` : Object.values(USAGE).join('\n');
    case 'quit':
      await ctx.quit();
      return 'bye';
  }
}

/** `fail DEV`: load an error table of the same size, then suspend and resume so it goes live. */
async function fail(name: string, ctx: CommandContext): Promise<string> {
  if (ctx.failed.has(name)) throw new InvalidArgumentError(`${name} has already failed; heal ${name} first`);
  const lines = await ctx.client.request('table', { name });
  if (lines.length === 0) throw new InvalidArgumentError(`${name} has no live table to replace`);
  const size = lines.reduce((n, l) => Math.max(n, l.start + l.length), 0);
  await swapTable(ctx, name, `0 ${size} error`);
  ctx.failed.set(name, tableText(lines));
  await ctx.refresh(name);
  return `${name} now fails every I/O (error table); heal ${name} restores it`;
}

async function heal(name: string, ctx: CommandContext): Promise<string> {
  const saved = ctx.failed.get(name);
  if (saved === undefined)
    throw new InvalidArgumentError(`${name} was not failed with "fail ${name}"; nothing to restore`);
  await swapTable(ctx, name, saved);
  ctx.failed.delete(name);
  await ctx.refresh(name);
  return `${name} has its table back`;
}

/** dmsetup's reload choreography: load the inactive table, suspend, resume (resume swaps it in). */
async function swapTable(ctx: CommandContext, name: string, table: string): Promise<void> {
  await ctx.client.request('load', { name, table });
  await ctx.client.request('suspend', { name, noflush: false });
  await ctx.client.request('resume', { name });
}

async function openRegion(region: RegionSpec, ctx: CommandContext): Promise<BlockDevice> {
  if (region.path.startsWith(MAPPER_PREFIX)) {
    if (!ctx.openMapped) throw new InvalidArgumentError('copy needs the embedded engine for mapped devices');
    return ctx.openMapped(region.path.slice(MAPPER_PREFIX.length));
  }
  return FileDevice.open(region.path);
}

/**
 * `copy`: one kcopyd job of a 'copy' client of the UI's own engine, as `dmsim copy` runs it in its process
 * (the engine's settings are the UI's: the options that set up a new engine are the CLI's).
 */
async function copy(job: CopyJob, ctx: CommandContext): Promise<string> {
  if (!ctx.kcopyd)
    throw new InvalidArgumentError('copy runs kcopyd in this process: not available when attached to a daemon');
  for (const [given, option] of [
    [job.subJobSectors, '--subjob-sectors'],
    [job.sharedPoolPages, '--shared-pages'],
    [job.trace, '--trace'],
  ] as const) {
    if (given !== undefined)
      throw new InvalidArgumentError(`copy: ${option} sets up a kcopyd engine of its own; here copy uses the UI's`);
  }
  const opened: BlockDevice[] = [];
  try {
    const open = async (r: RegionSpec): Promise<IoRegion> => {
      const bdev = await openRegion(r, ctx);
      opened.push(bdev);
      return { bdev, sector: r.sector, count: job.count };
    };
    const source = job.source ? await open(job.source) : null;
    const dests: IoRegion[] = [];
    for (const d of job.dests) dests.push(await open(d));
    const client = ctx.kcopyd.createClient({
      owner: 'copy',
      ...(job.reservePages !== undefined ? { reservePages: job.reservePages } : {}),
    });
    try {
      const flags = { ignoreError: job.ignoreError };
      const r = source ? await client.copyAsync(source, dests, flags) : await client.zeroAsync(dests, flags);
      if (job.fsync) for (const d of dests) await d.bdev.flush();
      return `${source ? 'copied' : 'zeroed'} ${job.count} sectors: read_err=${r.readErr ? 1 : 0} write_err=0x${(r.writeErr >>> 0).toString(16)}`;
    } finally {
      await client.destroy();
    }
  } finally {
    for (const d of opened) await d.close();
  }
}
