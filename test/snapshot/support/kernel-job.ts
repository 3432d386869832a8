// Replays the oracle jobs of fixtures/snapshot/jobs in dmsim: the same tables over MemoryDevices holding the same
// images, the same writes as the guest issued them, and the transcript lines in the job's format.

import { mergeTargetType } from '../../../targets/snapshot/merge.js';
import { originTargetType } from '../../../targets/snapshot/origin.js';
import { snapshotTargetType } from '../../../targets/snapshot/snapshot.js';
import { cowImage, pattern } from './pattern.js';
import { type Mapped, md5, Rig, read, statusLine, write } from './rig.js';

const ORIGIN_SECTORS = 2048;

export class Job {
  readonly rig = new Rig();
  readonly mapped = new Map<string, Mapped>();
  /** The transcript: "--- label" blocks of sorted status lines, md5 lines, as the job prints them. */
  readonly out: string[] = [];

  static async start(cows: Record<string, number | Buffer>): Promise<Job> {
    const j = new Job();
    await j.rig.memory('/dev/vda', ORIGIN_SECTORS, pattern('OLD', 0, ORIGIN_SECTORS));
    for (const [name, c] of Object.entries(cows)) {
      const img = typeof c === 'number' ? cowImage(c) : c;
      await j.rig.memory(name, img.length / 512, img);
    }
    return j;
  }

  dev(name: string): Mapped {
    const m = this.mapped.get(name);
    if (!m) throw new Error(`no mapped device ${name}`);
    return m;
  }

  async create(name: string, table: string): Promise<Mapped> {
    const [, len, type, ...args] = table.split(' ');
    const tt =
      type === 'snapshot-origin' ? originTargetType : type === 'snapshot' ? snapshotTargetType : mergeTargetType;
    const m = await this.rig.create(tt, name, Number(len), args);
    await m.target.preresume?.();
    await m.target.resume?.();
    this.mapped.set(name, m);
    return m;
  }

  /** dmsetup suspend: presuspend + postsuspend. */
  async suspend(name: string): Promise<void> {
    const t = this.dev(name).target;
    await t.presuspend?.({ noflush: false });
    await t.postsuspend?.();
  }

  async resume(name: string): Promise<void> {
    const t = this.dev(name).target;
    await t.preresume?.();
    await t.resume?.();
  }

  /** dmsetup suspend + load + resume of a new table in place of the old one. */
  async reload(name: string, table: string): Promise<void> {
    const old = this.dev(name);
    const [, len, type, ...args] = table.split(' ');
    const tt =
      type === 'snapshot-origin' ? originTargetType : type === 'snapshot' ? snapshotTargetType : mergeTargetType;
    const m = await this.rig.create(tt, name, Number(len), args);
    // As dm do_resume: the new table's hooks run, then the old table is destroyed.
    await m.target.preresume?.();
    await m.target.resume?.();
    await old.target.destroy();
    this.mapped.set(name, m);
  }

  async remove(name: string): Promise<void> {
    await this.dev(name).target.destroy();
    this.mapped.delete(name);
  }

  /**
   * The guest's `wr DEV SECTOR COUNT TAG`: 4 KiB-aligned writes are one bio; others went through the page
   * cache and reached the device as whole 4 KiB pages (read, patched, written back), as the kernel's COWs show.
   */
  async wr(name: string, sector: number, count: number, tag: string): Promise<void> {
    const m = this.dev(name);
    const data = pattern(tag, sector, count);
    if (sector % 8 === 0 && count % 8 === 0) {
      await write(m, sector, data);
      return;
    }
    for (let page = Math.floor(sector / 8) * 8; page < sector + count; page += 8) {
      const buf = await read(m, page, 8);
      const from = Math.max(sector, page);
      const to = Math.min(sector + count, page + 8);
      data.copy(buf, (from - page) * 512, (from - sector) * 512, (to - sector) * 512);
      await write(m, page, buf);
    }
  }

  st(label: string): void {
    this.out.push(`--- ${label}`, ...[...this.mapped.values()].map(statusLine).sort());
  }

  async md5(name: string): Promise<string> {
    return md5(await read(this.dev(name), 0, this.dev(name).len));
  }

  async image(name: string): Promise<Buffer> {
    const dev = this.rig.devices.get(name)!;
    const b = Buffer.alloc(dev.sizeSectors * 512);
    await dev.read(0, b);
    return b;
  }
}

/** The "--- label" block of a kernel transcript, as lines. */
export function block(text: string, label: string): string[] {
  const lines = text.split('\n');
  const at = lines.indexOf(`--- ${label}`);
  if (at < 0) throw new Error(`no block "${label}" in the transcript`);
  const out = [lines[at]!];
  for (const l of lines.slice(at + 1)) {
    if (!/^\S+: 0 \d+ /.test(l)) break;
    if (/ \d+:\d+( |$)/.test(l)) break; // the table lines that follow name devices as major:minor
    out.push(l);
  }
  return out;
}
