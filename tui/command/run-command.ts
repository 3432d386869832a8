// Runs a parsed command line against the engine: dmsetup verbs through the control protocol, printed by the
// CLI's formatters (a `wait` is one more request in flight: the UI keeps going until its reply arrives) (the embedded
// engine's private daemon or a running one; export/unexport too, as the daemon serves NBD), read/write through the mapped device, copy through a kcopyd
// client of the embedded engine, mkimg on the local filesystem, and the fail/heal shortcuts.

import { InvalidArgumentError } from '../../src/base/errors.js';
import { SECTOR_SIZE } from '../../src/base/size.js';
import type { BlockDevice } from '../../src/block/block-device.js';
import { FileDevice } from '../../src/block/file-device.js';
import { makeImage } from '../../src/block/image.js';
import {
  formatAllDevices,
  formatDeps,
  formatInfo,
  formatLs,
  formatMessageReply,
  formatOneDevice,
  formatTargets,
  formatVersion,
} from '../../src/control/dmsetup-format.js';
import type { Verb, VerbArgs, VerbResult } from '../../src/control/protocol.js';
import { MAPPER_PREFIX } from '../../src/dm/device-pool.js';
import { tableText } from '../../src/dm/table-line.js';
import type { KcopydEnvironment } from '../../src/kcopyd/environment.js';
import type { RegionWord, TuiCommand } from './parse-command.js';
import { USAGE } from './parse-command.js';

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
  /** Tables replaced by `fail`, by device name, for `heal`. */
  failed: Map<string, string>;
  /** Takes a fresh snapshot of a device into the store (after it changed, or to drop it when gone). */
  refresh(name: string): Promise<void>;
  pause(): string;
  unpause(): string;
  step(): string;
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
function shown(text: string): string {
  return text.replace(/\n$/, '');
}

async function deviceNames(client: VerbClient): Promise<string[]> {
  return (await client.request('ls', {})).map((d) => d.name);
}

/** Runs one command; resolves to the text to show (dmsetup's output for the read verbs). */
export async function runCommand(cmd: TuiCommand, ctx: CommandContext): Promise<string> {
  const c = ctx.client;
  switch (cmd.verb) {
    case 'create':
      await c.request('create', { name: cmd.name, table: cmd.table });
      await ctx.refresh(cmd.name);
      return `created ${cmd.name}`;
    case 'load':
      await c.request('load', { name: cmd.name, table: cmd.table });
      await ctx.refresh(cmd.name);
      return `loaded the inactive table of ${cmd.name} (resume ${cmd.name} to make it live)`;
    case 'suspend':
      await c.request('suspend', { name: cmd.name, noflush: cmd.noflush });
      await ctx.refresh(cmd.name);
      return `suspended ${cmd.name}`;
    case 'resume':
      await c.request('resume', { name: cmd.name });
      await ctx.refresh(cmd.name);
      return `resumed ${cmd.name}`;
    case 'remove':
      await c.request('remove', { name: cmd.name, force: cmd.force });
      ctx.failed.delete(cmd.name);
      await ctx.refresh(cmd.name);
      return `removed ${cmd.name}`;
    case 'remove_all': {
      const names = await deviceNames(c);
      await c.request('removeAll', { force: cmd.force });
      ctx.failed.clear();
      // -f leaves busy devices in place with error tables: each name's snapshot says which.
      for (const n of names) await ctx.refresh(n);
      return names.length === 0 ? 'no devices to remove' : `removed all devices (${names.join(', ')})`;
    }
    case 'clear':
      await c.request('clear', { name: cmd.name });
      await ctx.refresh(cmd.name);
      return `cleared the inactive table of ${cmd.name}`;
    case 'wait': {
      const now = await c.request(
        'wait',
        cmd.eventNr !== undefined ? { name: cmd.name, eventNr: cmd.eventNr } : { name: cmd.name },
      );
      return `${cmd.name}: event number ${now}`;
    }
    case 'flush':
      await c.request('flush', { name: cmd.name });
      return `flushed ${cmd.name}`;
    case 'deps':
      return shown(
        formatDeps(await c.request('deps', cmd.name !== undefined ? { name: cmd.name } : {}), cmd.name === undefined),
      );
    case 'targets':
      return shown(formatTargets(await c.request('targets', {})));
    case 'version':
      return shown(formatVersion(await c.request('version', {})));
    case 'message':
      return (
        shown(
          formatMessageReply(await c.request('message', { name: cmd.name, sector: cmd.sector, message: cmd.message })),
        ) || 'message sent'
      );
    case 'status':
    case 'table': {
      const lines = await c.request(cmd.verb, cmd.name !== undefined ? { name: cmd.name } : {});
      const text = cmd.name !== undefined ? formatOneDevice(lines) : formatAllDevices(await deviceNames(c), lines);
      return shown(text);
    }
    case 'info':
      return (
        formatInfo(await c.request('info', cmd.name !== undefined ? { name: cmd.name } : {})).replace(/\n+$/, '') ||
        'No devices found'
      );
    case 'ls':
      return shown(formatLs(await c.request('ls', {})));
    case 'write':
      await c.write(cmd.name, cmd.sector, Buffer.alloc(cmd.count * SECTOR_SIZE, cmd.byte));
      return `wrote ${cmd.count} sectors of 0x${cmd.byte.toString(16).padStart(2, '0')} at sector ${cmd.sector} of ${cmd.name}`;
    case 'read': {
      const buf = await c.read(cmd.name, cmd.sector, cmd.count);
      return `read ${cmd.count} sectors at ${cmd.sector} of ${cmd.name}: ${describeBytes(buf)}`;
    }
    case 'copy':
      return copy(cmd, ctx);
    case 'mkimg': {
      const bytes = await makeImage(cmd.path, cmd.size);
      return `${cmd.path}: ${bytes / SECTOR_SIZE} sectors (${bytes} bytes), sparse`;
    }
    case 'export': {
      const exp = await c.request('export', {
        name: cmd.name,
        readOnly: cmd.readOnly,
        ...(cmd.listen !== undefined ? { listen: cmd.listen } : {}),
      });
      await ctx.refresh(cmd.name);
      return `exported ${cmd.name}${exp.readOnly ? ' read-only' : ''}: ${exp.uri}`;
    }
    case 'unexport':
      await c.request('unexport', { name: cmd.name });
      await ctx.refresh(cmd.name);
      return `unexported ${cmd.name}`;
    case 'fail':
      return fail(cmd.name, ctx);
    case 'heal':
      return heal(cmd.name, ctx);
    case 'pause':
      return ctx.pause();
    case 'resume-engine':
      return ctx.unpause();
    case 'step':
      return ctx.step();
    case 'help':
      return cmd.topic !== undefined ? `usage: ${USAGE[cmd.topic]}` : Object.values(USAGE).join('\n');
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

async function openRegion(word: RegionWord, ctx: CommandContext): Promise<BlockDevice> {
  if (word.device.startsWith(MAPPER_PREFIX)) {
    if (!ctx.openMapped) throw new InvalidArgumentError('copy needs the embedded engine for mapped devices');
    return ctx.openMapped(word.device.slice(MAPPER_PREFIX.length));
  }
  return FileDevice.open(word.device);
}

/** `copy`: one kcopyd job of a 'copy' client, as `dmsim copy` runs it. */
async function copy(cmd: Extract<TuiCommand, { verb: 'copy' }>, ctx: CommandContext): Promise<string> {
  if (!ctx.kcopyd)
    throw new InvalidArgumentError('copy runs kcopyd in this process: not available when attached to a daemon');
  const count = cmd.from.count!;
  const opened: BlockDevice[] = [];
  try {
    const source = await openRegion(cmd.from, ctx);
    opened.push(source);
    const dests = [];
    for (const d of cmd.to) {
      const dev = await openRegion(d, ctx);
      opened.push(dev);
      dests.push({ bdev: dev, sector: d.sector, count: d.count ?? count });
    }
    const client = ctx.kcopyd.createClient({ owner: 'copy' });
    try {
      const r = await client.copyAsync({ bdev: source, sector: cmd.from.sector, count }, dests, {
        ignoreError: cmd.ignoreError,
      });
      return `copied ${count} sectors: read_err=${r.readErr ? 1 : 0} write_err=0x${(r.writeErr >>> 0).toString(16)}`;
    } finally {
      await client.destroy();
    }
  } finally {
    for (const d of opened) await d.close();
  }
}
