// Test helper: thin-provisioning-tools (Debian's thin_check / thin_dump) over an image of a metadata device,
// and thin_dump's XML read back into devices and mappings, for comparison with dmsim's own model.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlockDevice } from '../../src/block/block-device.js';
import { available, missingTools } from '../support/prerequisites.js';

/** Whether thin_check and thin_dump run here (in CI their absence throws, naming them: .ci/run installs them). */
export const hasThinTools = available(missingTools('thin_check', 'thin_dump'));

/** Copies a device's bytes into a file thin_check can read. */
export async function imageOf(dev: BlockDevice): Promise<string> {
  const buf = Buffer.alloc(dev.sizeSectors * 512);
  await dev.read(0, buf);
  const path = join(mkdtempSync(join(tmpdir(), 'dmsim-thin-')), 'meta.img');
  writeFileSync(path, buf);
  return path;
}

/** thin_check's exit status and output. */
export function thinCheck(path: string): { status: number; output: string } {
  const r = spawnSync('thin_check', [path], { encoding: 'utf8' });
  return { status: r.status ?? -1, output: `${r.stdout}${r.stderr}` };
}

interface DumpedDevice {
  id: number;
  mappedBlocks: number;
  transaction: number;
  creationTime: number;
  snapTime: number;
  /** virtual block -> [data block, time] */
  mappings: Map<number, [number, number]>;
}

export interface Dump {
  time: number;
  transaction: number;
  nrDataBlocks: number;
  devices: DumpedDevice[];
}

/** thin_dump IMG, parsed (single_mapping and range_mapping expanded). */
export function thinDump(path: string, args: string[] = []): Dump {
  const xml = execFileSync('thin_dump', [...args, path], { encoding: 'utf8' });
  const attrs = (s: string): Record<string, number> => {
    const o: Record<string, number> = {};
    for (const m of s.matchAll(/(\w+)="([^"]*)"/g)) o[m[1]!] = Number(m[2]);
    return o;
  };
  const sb = attrs(/<superblock ([^>]*)>/.exec(xml)![1]!);
  const devices: DumpedDevice[] = [];
  let cur: DumpedDevice | undefined;
  for (const line of xml.split('\n')) {
    const t = line.trim();
    if (t.startsWith('<device ')) {
      const a = attrs(t);
      cur = {
        id: a.dev_id!,
        mappedBlocks: a.mapped_blocks!,
        transaction: a.transaction!,
        creationTime: a.creation_time!,
        snapTime: a.snap_time!,
        mappings: new Map(),
      };
      devices.push(cur);
    } else if (t.startsWith('<single_mapping ')) {
      const a = attrs(t);
      cur!.mappings.set(a.origin_block!, [a.data_block!, a.time!]);
    } else if (t.startsWith('<range_mapping ')) {
      const a = attrs(t);
      for (let i = 0; i < a.length!; i++) cur!.mappings.set(a.origin_begin! + i, [a.data_begin! + i, a.time!]);
    }
  }
  return { time: sb.time!, transaction: sb.transaction!, nrDataBlocks: sb.nr_data_blocks!, devices };
}
