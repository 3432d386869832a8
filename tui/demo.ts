// The demo behind `npm start` (`dmsim tui --demo`): a scripted minute of device-mapper on temporary sparse
// files, typed through the same command line a person uses, then a steady background load until quit.
//   - an origin (snapshot-origin over a linear "real" device) with two snapshots under random writes: COW
//     copies show as kcopyd jobs and remapped chunks; the second COW is small and fills up to Invalid;
//   - a two-leg mirror with a disk log over delay targets (slow legs, so the resync is visible);
//   - the primary leg fails (error table under it: health D, primary switch), the mirror is rebuilt on a new
//     leg with a fresh log and resyncs, the failed leg is healed;
//   - the first snapshot is merged back into the origin, then a new snapshot is taken and the load goes on.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDmError } from '../src/base/errors.js';
import { SECTOR_SIZE } from '../src/base/size.js';
import type { TuiController } from './controller.js';

export interface DemoTimer {
  setTimer(ms: number, fn: () => void): () => void;
}

const MiB = 2048; // sectors
const ORIGIN_SECTORS = 8 * MiB;
const MIRROR_SECTORS = 16 * MiB;
const CHUNK = 8;

export class Demo {
  private stopped = false;
  private readonly cancels = new Set<() => void>();
  private seed = 12345;
  /** Where the background reads go: a snapshot, or the origin while no valid snapshot is there. */
  private readTarget = 'snap1';
  private mirrorLegs: [string, string] = ['leg0', 'leg1'];

  private constructor(
    private readonly controller: TuiController,
    readonly dir: string,
    private readonly timer: DemoTimer,
    /** Multiplies every wait of the script (below 1: faster). */
    private readonly pace: number,
  ) {}

  /** Makes the temporary directory (removed on quit) and starts the script. */
  static async start(controller: TuiController, options: { timer: DemoTimer; pace?: number }): Promise<Demo> {
    const dir = await mkdtemp(join(tmpdir(), 'dmsim-demo-'));
    const demo = new Demo(controller, dir, options.timer, options.pace ?? 1);
    controller.onQuit(async () => {
      demo.stop();
      await rm(dir, { recursive: true, force: true });
    });
    void demo.script().catch((e: unknown) => demo.say(`demo stopped: ${e instanceof Error ? e.message : String(e)}`));
    return demo;
  }

  stop(): void {
    this.stopped = true;
    for (const c of this.cancels) c();
    this.cancels.clear();
  }

  private say(text: string): void {
    this.controller.store.note('tui.output', { text: `demo: ${text}` });
  }

  private path(file: string): string {
    return join(this.dir, file);
  }

  /** Runs a command line as if typed, showing it in the events panel. */
  private async cmd(line: string): Promise<string> {
    if (this.stopped) throw new Error('quitting');
    this.say(line.replaceAll(`${this.dir}/`, ''));
    return this.controller.run(line);
  }

  private wait(seconds: number): Promise<void> {
    return new Promise((resolve) => {
      const cancel = this.timer.setTimer(seconds * 1000 * this.pace, () => {
        this.cancels.delete(cancel);
        resolve();
      });
      this.cancels.add(cancel);
    });
  }

  private random(n: number): number {
    // A small LCG: the demo replays the same writes every run.
    this.seed = (this.seed * 1103515245 + 12345) % 2147483648;
    return this.seed % n;
  }

  /** Repeats `fn` every `ms` until quit; a failed write is shown by the engine's own io.error event. */
  private every(ms: number, fn: () => Promise<unknown>): void {
    const tick = (): void => {
      if (this.stopped) return;
      fn()
        .catch(() => undefined)
        .finally(() => {
          if (this.stopped) return;
          const cancel = this.timer.setTimer(ms * this.pace, () => {
            this.cancels.delete(cancel);
            tick();
          });
          this.cancels.add(cancel);
        });
    };
    tick();
  }

  /**
   * One background I/O through the in-process device (opened and closed around it). Not through the control
   * connection: a write the mirror holds after a leg failure would block the commands queued behind it.
   */
  private async io(name: string, op: 'read' | 'write', sector: number, count: number, byte = 0): Promise<void> {
    const open = this.controller.session.openMapped;
    if (!open) return;
    const dev = await open(name);
    try {
      const buf = Buffer.alloc(count * SECTOR_SIZE, byte);
      await (op === 'write' ? dev.write(sector, buf) : dev.read(sector, buf));
    } finally {
      await dev.close();
    }
  }

  /** `remove NAME`, retried while a background I/O still has the device open (dmsetup remove --retry). */
  private async remove(name: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await this.cmd(`remove ${name}`);
        return;
      } catch (e) {
        if (!isDmError(e) || e.code !== 'EBUSY' || attempt >= 20) throw e;
        await this.wait(0.1);
      }
    }
  }

  private async script(): Promise<void> {
    const p = (f: string) => this.path(f);
    this.say(`temporary files in ${this.dir}`);
    for (const [file, size] of [
      ['base.img', '8M'],
      ['cow1.img', '2M'],
      ['cow2.img', '96K'], // 22 data chunks: fills up to Invalid within the first minute
      ['cow3.img', '2M'],
      ['leg0.img', '16M'],
      ['leg1.img', '16M'],
      ['leg2.img', '16M'],
      ['mlog.img', '64K'],
      ['mlog2.img', '64K'],
      ['scratch.img', '8M'],
    ] as const) {
      await this.cmd(`mkimg ${p(file)} ${size}`);
    }
    // The LVM layout: the origin's data in base-real; `base` is what users write to.
    await this.cmd(`create base-real 0 ${ORIGIN_SECTORS} linear ${p('base.img')} 0`);
    await this.cmd(`create base 0 ${ORIGIN_SECTORS} snapshot-origin /dev/mapper/base-real`);
    await this.cmd(`create snap1 0 ${ORIGIN_SECTORS} snapshot /dev/mapper/base-real ${p('cow1.img')} P ${CHUNK}`);
    await this.cmd(`create snap2 0 ${ORIGIN_SECTORS} snapshot /dev/mapper/base-real ${p('cow2.img')} P ${CHUNK}`);
    // Slow legs (40 ms per I/O) so the resync can be watched region by region.
    for (const leg of ['leg0', 'leg1', 'leg2'])
      await this.cmd(`create ${leg} 0 ${MIRROR_SECTORS} delay ${p(`${leg}.img`)} 0 40`);
    await this.cmd(
      `create mirror 0 ${MIRROR_SECTORS} mirror disk 2 ${p('mlog.img')} 512 2 /dev/mapper/leg0 0 /dev/mapper/leg1 0 1 handle_errors`,
    );

    // Writes to the origin copy each first-touched chunk into both COWs before it lands.
    this.every(120, () =>
      this.io('base', 'write', this.random(ORIGIN_SECTORS / CHUNK) * CHUNK, CHUNK, 0x40 + this.random(64)),
    );
    this.every(250, () =>
      this.io('mirror', 'write', this.random(MIRROR_SECTORS / CHUNK) * CHUNK, CHUNK * 4, 0xa0 + this.random(32)),
    );
    this.every(400, () => this.io(this.readTarget, 'read', this.random(ORIGIN_SECTORS / CHUNK) * CHUNK, CHUNK));
    this.every(7000, () => this.cmd(`copy ${p('base.img')}:0+${4 * MiB} ${p('scratch.img')}:0`));

    await this.wait(15);
    // A primary that fails while the mirror is out of sync stays primary (dm-raid1 fail_mirror): wait for 100%.
    await this.untilStatus('mirror', (params) => /(\d+)\/\1 1 /.test(params), 60);
    await this.cmd('status snap2');
    this.say('the primary leg of the mirror fails: writes to it get errors, health D, leg1 becomes primary');
    await this.cmd('fail leg0');
    // Until a write has hit the dead leg (health D), then a few seconds to look at it.
    await this.untilStatus('mirror', (params) => / 1 D/.test(params), 30);
    await this.wait(6);
    this.say('repair: rebuild the mirror on leg1 and a new leg2, with a fresh log (everything resyncs onto leg2)');
    await this.cmd(
      `load mirror 0 ${MIRROR_SECTORS} mirror disk 2 ${p('mlog2.img')} 512 2 /dev/mapper/leg1 0 /dev/mapper/leg2 0 1 handle_errors`,
    );
    await this.cmd('suspend mirror');
    await this.cmd('resume mirror');
    this.mirrorLegs = ['leg1', 'leg2'];
    await this.cmd('heal leg0');
    await this.wait(12);
    this.say('merge snap1 back into the origin (lvconvert --merge): the COW chunks are copied home');
    this.readTarget = 'base'; // snap2 is Invalid: every read of it fails
    await this.remove('snap1');
    await this.cmd('suspend base');
    await this.cmd(`load base 0 ${ORIGIN_SECTORS} snapshot-merge /dev/mapper/base-real ${p('cow1.img')} P ${CHUNK}`);
    await this.cmd('resume base');
    // The merge is done when only metadata is left (snapshot.md: allocated == metadata).
    await this.untilStatus('base', (params) => /^(\d+)\/\d+ \1$/.test(params), 120);
    this.say('merged: base goes back to snapshot-origin, snap2 (Invalid) is dropped, a new snapshot snap3 is taken');
    await this.cmd(`load base 0 ${ORIGIN_SECTORS} snapshot-origin /dev/mapper/base-real`);
    await this.cmd('suspend base');
    await this.cmd('resume base');
    await this.remove('snap2');
    await this.cmd(`create snap3 0 ${ORIGIN_SECTORS} snapshot /dev/mapper/base-real ${p('cow3.img')} P ${CHUNK}`);
    this.readTarget = 'snap3';
    this.say(`steady load from here on (mirror legs ${this.mirrorLegs.join(', ')}); press q to quit`);
  }

  /**
   * Polls a device's status until `done` says so (or the device is gone), for at most `seconds` of real time:
   * what it waits for (a resync over slow legs, a merge) does not speed up with the pace.
   */
  private async untilStatus(name: string, done: (params: string) => boolean, seconds: number): Promise<void> {
    for (const deadline = Date.now() + seconds * 1000; Date.now() < deadline && !this.stopped; ) {
      await this.wait(0.5);
      try {
        const [line] = await this.controller.session.client.request('status', { name });
        if (done(line?.params ?? '')) return;
      } catch (e) {
        if (!isDmError(e)) throw e;
        return;
      }
    }
  }
}
