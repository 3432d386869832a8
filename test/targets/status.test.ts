// The typed status and table parsers (targets/status.ts) read what the real 6.1 kernel printed: every status and
// table line in the oracle recordings parses, gives back the same words when formatted, and specific lines mean
// what the kernel documentation says they mean (reference/snapshot.md §5-6, reference/mirror.md §6-7).

import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  formatTargetStatus,
  formatTargetTable,
  parseTargetStatus,
  parseTargetTable,
  tableDevices,
} from '../../targets/status.js';

const FIXTURES = fileURLToPath(new URL('../../fixtures/', import.meta.url));

interface KernelLine {
  kind: 'status' | 'table';
  target: string;
  params: string;
  where: string;
}

const KNOWN = /^(snapshot|snapshot-merge|snapshot-origin|mirror|flakey|delay|linear|zero|error)$/;

function files(dir: string, ext: string): string[] {
  return readdirSync(FIXTURES + dir)
    .filter((f) => f.endsWith(ext))
    .map((f) => `${dir}/${f}`);
}

/** `[NAME: ]<start> <len> <target> <params>` as dmsetup prints it (params keep their trailing space). */
function splitDmsetupLine(line: string): { target: string; params: string } | undefined {
  const m = /^(?:\S+: )?\d+ \d+ (\S+)(?: (.*))?$/.exec(line);
  return m && KNOWN.test(m[1]!) ? { target: m[1]!, params: m[2] ?? '' } : undefined;
}

/** Every status and table line the kernel printed in the recordings, with which of the two it is. */
function kernelLines(): KernelLine[] {
  const out: KernelLine[] = [];
  // `$ dmsetup|dmsim status|table ...` transcripts: the lines that follow the command are its output.
  for (const f of [...files('transcripts/kernel', '.txt'), ...files('kernel/helpers', '.out')]) {
    let kind: KernelLine['kind'] | undefined;
    for (const line of readFileSync(FIXTURES + f, 'utf8').split('\n')) {
      const cmd = /^\$ (?:dmsetup|dmsim) (status|table)\b(?!.*--inactive)/.exec(line);
      if (line.startsWith('$ ') || line.startsWith('#')) kind = cmd ? (cmd[1] as KernelLine['kind']) : undefined;
      const l = kind ? splitDmsetupLine(line) : undefined;
      if (kind && l) out.push({ kind, ...l, where: f });
    }
  }
  // The mirror and fault-matrix jobs print `STATUS|TABLE [<start> <len>] <target> <params>`.
  for (const f of [...files('mirror', '.out'), ...files('reliability', '.out')]) {
    for (const line of readFileSync(FIXTURES + f, 'utf8').split('\n')) {
      const m = /^(STATUS|TABLE) (?:\d+ \d+ )?(\S+)(?: (.*))?$/.exec(line);
      if (m && KNOWN.test(m[2]!))
        out.push({ kind: m[1] === 'STATUS' ? 'status' : 'table', target: m[2]!, params: m[3] ?? '', where: f });
    }
  }
  // The snapshot constructor job prints `-> <target> <table params> | <target> <status params>`.
  for (const line of readFileSync(`${FIXTURES}snapshot/kernel/ctr.txt`, 'utf8').split('\n')) {
    const m = /-> (\S+) (.*) \| (\S+) (.*)$/.exec(line);
    if (!m) continue;
    out.push({ kind: 'table', target: m[1]!, params: m[2]!, where: 'snapshot/kernel/ctr.txt' });
    out.push({ kind: 'status', target: m[3]!, params: m[4]!, where: 'snapshot/kernel/ctr.txt' });
  }
  return out;
}

describe('typed status and table lines from the kernel', () => {
  const lines = kernelLines();

  it('finds lines of every target family in the recordings', () => {
    const seen = new Set(lines.map((l) => `${l.kind} ${l.target}`));
    for (const want of [
      'status snapshot',
      'table snapshot',
      'status snapshot-merge',
      'table snapshot-origin',
      'status mirror',
      'table mirror',
      'table flakey',
      'status delay',
      'table delay',
      'table linear',
      'status zero',
      'status error',
    ]) {
      expect(seen, want).toContain(want);
    }
  });

  it('parses every line and formats it back to the same words', () => {
    for (const l of lines) {
      const where = `${l.where}: ${l.kind} ${l.target} "${l.params}"`;
      if (l.kind === 'status') {
        const s = parseTargetStatus(l.target, l.params);
        expect(s?.target, where).toBe(l.target);
        expect(formatTargetStatus(s!), where).toBe(l.params);
      } else {
        const t = parseTargetTable(l.target, l.params);
        expect(t?.target, where).toBe(l.target);
        expect(formatTargetTable(t!), where).toBe(l.params);
      }
    }
  });
});

describe('what the fields mean (the kernel documentation)', () => {
  it('snapshot: allocated/total metadata in sectors, allocated and total both counting the metadata', () => {
    // snapshot.md §5: persistent, C=8, COW 2048 sectors: fresh 16/2048 16, after one exception 24/2048 16.
    expect(parseTargetStatus('snapshot', '24/2048 16')).toEqual({
      target: 'snapshot',
      state: 'active',
      allocatedSectors: 24,
      totalSectors: 2048,
      metadataSectors: 16,
    });
    expect(parseTargetStatus('snapshot', 'Invalid')).toEqual({ target: 'snapshot', state: 'invalid' });
    expect(parseTargetStatus('snapshot', 'Overflow')).toEqual({ target: 'snapshot', state: 'overflow' });
    expect(parseTargetStatus('snapshot-merge', 'Merge failed')).toEqual({
      target: 'snapshot-merge',
      state: 'merge-failed',
    });
  });

  it('snapshot table: origin, COW, store type, chunk size and the discard features', () => {
    expect(parseTargetTable('snapshot', '254:0 254:16 N 8 2 discard_zeroes_cow discard_passdown_origin')).toEqual({
      target: 'snapshot',
      origin: '254:0',
      cow: '254:16',
      store: 'N',
      chunkSectors: 8,
      discardZeroesCow: true,
      discardPassdownOrigin: true,
    });
    expect(tableDevices(parseTargetTable('snapshot', '254:0 254:32 PO 8')!)).toEqual(['254:0', '254:32']);
  });

  it('mirror status: legs with their health letters, in-sync/total regions, the log and its health', () => {
    // mirror.md §6: `<#mirrors> <dev>... <insync>/<nr_regions> 1 <health chars> <log status>`.
    expect(parseTargetStatus('mirror', '2 /dev/vda /dev/vdb 1/32 1 AA 3 disk /dev/vdc D')).toEqual({
      target: 'mirror',
      legs: [
        { device: '/dev/vda', health: 'A' },
        { device: '/dev/vdb', health: 'A' },
      ],
      inSyncRegions: 1,
      totalRegions: 32,
      log: { type: 'disk', device: '/dev/vdc', health: 'D' },
    });
    const s = parseTargetStatus('mirror', '3 /dev/mapper/leg0 /dev/mapper/leg1 /dev/mapper/leg2 0/32 1 AAS 1 core');
    expect(s?.target === 'mirror' && s.legs.map((l) => l.health)).toEqual(['A', 'A', 'S']);
    expect(s?.target === 'mirror' && s.log).toEqual({ type: 'core' });
  });

  it('mirror table: the log part with its sync word, legs with offsets, features in fixed order', () => {
    expect(
      parseTargetTable('mirror', 'disk 3 /dev/mapper/mlog 128 nosync 2 /dev/mapper/leg0 0 /dev/mapper/leg1 0'),
    ).toEqual({
      target: 'mirror',
      log: { type: 'disk', device: '/dev/mapper/mlog', regionSectors: 128, sync: 'nosync' },
      legs: [
        { device: '/dev/mapper/leg0', offset: 0 },
        { device: '/dev/mapper/leg1', offset: 0 },
      ],
      handleErrors: false,
      keepLog: false,
    });
    const t = parseTargetTable('mirror', 'core 1 128 2 a 0 b 8 2 handle_errors keep_log')!;
    expect(t).toMatchObject({
      log: { type: 'core', regionSectors: 128, sync: 'default' },
      handleErrors: true,
      keepLog: true,
    });
    expect(tableDevices(parseTargetTable('mirror', 'disk 2 mlog 128 2 a 0 b 0')!)).toEqual(['mlog', 'a', 'b']);
  });

  it('flakey and delay tables; delay status counts the bios queued now', () => {
    expect(parseTargetTable('flakey', '254:0 8 30 30 6 drop_writes corrupt_bio_byte 32 r 1 0 ')).toEqual({
      target: 'flakey',
      device: '254:0',
      offset: 8,
      upSeconds: 30,
      downSeconds: 30,
      dropWrites: true,
      errorWrites: false,
      corruptBioByte: { byte: 32, direction: 'r', value: 1, flags: 0 },
    });
    // kernel/helpers/io.out: a read held by a 3 s delay shows as `1 0 0`.
    expect(parseTargetStatus('delay', '1 0 0')).toEqual({
      target: 'delay',
      queuedReads: 1,
      queuedWrites: 0,
      queuedFlushes: 0,
    });
    expect(parseTargetTable('delay', '254:0 0 10 254:16 0 20')).toEqual({
      target: 'delay',
      classes: [
        { device: '254:0', offset: 0, delayMs: 10 },
        { device: '254:16', offset: 0, delayMs: 20 },
      ],
    });
  });

  it('refuses words a target never prints, naming the line', () => {
    expect(() => parseTargetStatus('snapshot', '16/2048')).toThrow(/not a snapshot status line: "16\/2048"/);
    expect(() => parseTargetStatus('mirror', '2 a b 1/4 1 AX 1 core')).toThrow(/health letters/);
    expect(() => parseTargetStatus('linear', 'x')).toThrow(/no status words/);
    expect(parseTargetStatus('thin-pool', '0 1/2 3/4 - rw')).toBeUndefined();
  });
});
