// delay: holds each bio for a fixed number of milliseconds before passing it on, with separate devices and
// delays for reads, writes and flushes (drivers/md/dm-delay.c as in 6.1, v1.3.0).
// Table: `<dev> <off> <ms>` [`<wdev> <woff> <wms>` [`<fdev> <foff> <fms>`]]; with 3 arguments writes and flushes
// use the read triple, with 6 flushes use the write triple. Info status: bios queued now, `<reads> <writes> <flushes>`.
// 0 ms passes a bio straight through; presuspend releases everything queued and stops delaying until resume.

import type { Clock } from '../src/base/clock.js';
import type { Bio } from '../src/dm/bio.js';
import { lookupDevice, parseSectorArg, parseUintArg, TargetArgumentError } from '../src/dm/dm-args.js';
import { submitBio } from '../src/dm/submit-bio.js';
import type { DeviceArea, DmDevice, StatusType, Target, TargetContext, TargetType } from '../src/dm/target.js';
import { formatDelayStatus, formatDelayTable } from './delay-status.js';

/** struct delay_class: one triple and the count of its bios queued now. */
interface DelayClass {
  dev: DmDevice;
  start: number;
  delay: number;
  ops: number;
}

interface QueuedBio {
  cls: DelayClass;
  release: () => void;
  cancel: () => void;
}

class DelayTarget implements Target {
  readonly maxIoSectors = 0;
  /** num_discard_bios = 1: discards pass down (held as writes), when the device below takes them. */
  readonly takesDiscards = true;
  private readonly read: DelayClass;
  private readonly write: DelayClass;
  private readonly flush: DelayClass;
  /** How many triples the table gave (1, 2 or 3): what the table status prints. */
  private readonly triples: number;
  private readonly len: number;
  private readonly clock: Clock;
  private readonly queued = new Set<QueuedBio>();
  private mayDelay = true;

  constructor(ctx: TargetContext, classes: DelayClass[]) {
    this.read = classes[0]!;
    this.write = classes[1] ?? { ...this.read, ops: 0 };
    this.flush = classes[2] ?? { ...this.write, ops: 0 };
    this.triples = classes.length;
    this.len = ctx.len;
    this.clock = ctx.clock;
  }

  async map(bio: Bio): Promise<void> {
    // bio_data_dir: everything but a read is a WRITE; a write carrying REQ_PREFLUSH (or a bare flush) is a flush.
    const cls = bio.op === 'read' ? this.read : bio.op === 'flush' || bio.preflush ? this.flush : this.write;
    if (cls.delay > 0 && this.mayDelay) await this.hold(cls);
    return submitBio(cls.dev.bdev, bio, cls.start + bio.sector);
  }

  status(type: StatusType): string {
    if (type === 'info') {
      return formatDelayStatus({
        queuedReads: this.read.ops,
        queuedWrites: this.write.ops,
        queuedFlushes: this.flush.ops,
      });
    }
    const classes = [this.read, this.write, this.flush].slice(0, this.triples);
    return formatDelayTable({
      classes: classes.map((c) => ({ device: c.dev.name, offset: c.start, delayMs: c.delay })),
    });
  }

  /** Releases every queued bio now (flush_delayed_bios(dc, 1)) and passes new ones straight through. */
  async presuspend(): Promise<void> {
    this.mayDelay = false;
    for (const q of [...this.queued]) {
      q.cancel();
      q.release();
    }
  }

  async resume(): Promise<void> {
    this.mayDelay = true;
  }

  devices(): DmDevice[] {
    const seen = new Map<string, DmDevice>();
    for (const c of [this.read, this.write, this.flush]) seen.set(c.dev.name, c.dev);
    return [...seen.values()];
  }

  deviceAreas(): DeviceArea[] {
    return [this.read, this.write, this.flush]
      .slice(0, this.triples)
      .map((c) => ({ device: c.dev, start: c.start, len: this.len }));
  }

  async destroy(): Promise<void> {
    await this.presuspend();
  }

  /** Queues the bio until now + delay (or until presuspend), counting it in its class meanwhile. */
  private hold(cls: DelayClass): Promise<void> {
    return new Promise<void>((resolve) => {
      const q: QueuedBio = {
        cls,
        release: () => {
          if (!this.queued.delete(q)) return;
          cls.ops--;
          resolve();
        },
        cancel: () => {},
      };
      cls.ops++;
      this.queued.add(q);
      q.cancel = this.clock.setTimer(cls.delay, q.release);
    });
  }
}

/** delay_class_ctr: `<dev> <offset> <delay>` starting at args[at]; sector and delay are checked before the device. */
async function delayClass(ctx: TargetContext, args: string[], at: number): Promise<DelayClass> {
  const start = parseSectorArg(args[at + 1]);
  if (start === undefined) throw new TargetArgumentError('Invalid device sector', at + 1);
  const delay = parseUintArg(args[at + 2]);
  if (delay === undefined) throw new TargetArgumentError('Invalid delay', at + 2);
  const dev = await lookupDevice(ctx, args, at);
  return { dev, start, delay, ops: 0 };
}

export const delayTargetType: TargetType = {
  name: 'delay',
  version: [1, 3, 0],
  async create(ctx: TargetContext, args: string[]): Promise<Target> {
    if (args.length !== 3 && args.length !== 6 && args.length !== 9) {
      throw new TargetArgumentError('Requires exactly 3, 6 or 9 arguments');
    }
    const classes: DelayClass[] = [];
    for (let at = 0; at < args.length; at += 3) classes.push(await delayClass(ctx, args, at));
    return new DelayTarget(ctx, classes);
  },
};
