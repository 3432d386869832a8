// dmsetup's text formats, checked against what dmsetup 1.02.185 printed on the oracle
// (fixtures/transcripts/kernel/*.txt) for devices in the same state.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  formatAllDevices,
  formatDeps,
  formatInfo,
  formatLs,
  formatMessageReply,
  formatOneDevice,
  formatTargets,
} from '../../src/control/dmsetup-format.js';
import type { WireDeviceInfo } from '../../src/control/protocol.js';
import { normaliseKernelStdout, parseTranscript } from '../e2e/transcript.js';

/** What the kernel printed for the n-th (0-based) run of `command` in a recording, major:minor normalised. */
function kernelPrinted(recording: string, command: string, n = 0): string {
  const t = parseTranscript(
    readFileSync(new URL(`../../fixtures/transcripts/kernel/${recording}.txt`, import.meta.url), 'utf8'),
  );
  const step = t.steps.filter((s) => s.command === command)[n];
  if (!step) throw new Error(`${recording}: no run ${n} of '${command}'`);
  const lines = normaliseKernelStdout(step);
  return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
}

const base: WireDeviceInfo = {
  name: 'lin',
  state: 'ACTIVE',
  readOnly: false,
  tablesPresent: 'LIVE',
  openCount: 0,
  eventNr: 0,
  major: 253,
  minor: 0,
  targetCount: 1,
  uuid: '',
  readAhead: 256,
};

describe('info', () => {
  it('prints one device with values at column 20 and a blank line after it', () => {
    expect(formatInfo([base])).toBe(kernelPrinted('linear', 'dmsim info lin'));
  });

  it('prints SUSPENDED and LIVE & INACTIVE', () => {
    expect(formatInfo([{ ...base, name: 'live', state: 'SUSPENDED', tablesPresent: 'LIVE & INACTIVE' }])).toBe(
      kernelPrinted('error-swap', 'dmsim info live'),
    );
  });

  it('prints (READ-ONLY) and the UUID line with its single space', () => {
    expect(
      formatInfo([{ ...base, name: 'd', readOnly: true, minor: 3, targetCount: 2, uuid: 'dmsim-test-uuid' }]),
    ).toBe(kernelPrinted('misc', 'dmsim info d'));
  });

  it('prints every device, blank line between', () => {
    const infos = [
      { ...base, name: 'lower', openCount: 1 },
      { ...base, name: 'mid', openCount: 1, minor: 1 },
      { ...base, name: 'top', minor: 2 },
    ];
    expect(formatInfo(infos)).toBe(kernelPrinted('stacked', 'dmsim info'));
  });
});

describe('ls', () => {
  it('prints name<TAB>(major:minor)', () => {
    expect(
      formatLs([
        { name: 'e', major: 253, minor: 1 },
        { name: 'z', major: 253, minor: 0 },
      ]),
    ).toBe(kernelPrinted('zero-error', 'dmsim ls'));
  });

  it('says No devices found when there are none', () => {
    expect(formatLs([])).toBe(kernelPrinted('linear', 'dmsim ls'));
  });
});

describe('table and status', () => {
  it('prefixes NAME: when listing every device, with devices as the tables named them', () => {
    const lines = [
      { name: 'lower', start: 0, length: 8192, target: 'linear', params: '$D1 0' },
      { name: 'mid', start: 0, length: 4096, target: 'linear', params: '/dev/mapper/lower 2048' },
      { name: 'top', start: 0, length: 2048, target: 'linear', params: '/dev/mapper/mid 1024' },
    ];
    expect(formatAllDevices(['lower', 'mid', 'top'], lines)).toBe(kernelPrinted('stacked', 'dmsim table'));
  });

  it('keeps the space before empty params, and no prefix for one device', () => {
    expect(formatOneDevice([{ name: 'lin', start: 0, length: 2048, target: 'linear', params: '' }])).toBe(
      kernelPrinted('linear', 'dmsim status lin'),
    );
  });

  it('prints a device without a live table as an empty line, or "NAME: " when listing all', () => {
    expect(formatOneDevice([])).toBe(kernelPrinted('notable', 'dmsim table n'));
    expect(formatOneDevice([])).toBe(kernelPrinted('notable', 'dmsim status n'));
    expect(formatAllDevices(['n'], [])).toBe(kernelPrinted('notable', 'dmsim table'));
  });

  it('says No devices found when listing all and there are none', () => {
    expect(formatAllDevices([], [])).toBe(kernelPrinted('misc', 'dmsim table'));
  });

  it('prints a multi-target device one line per target', () => {
    const lines = [
      { name: 'a', start: 0, length: 2048, target: 'zero', params: '' },
      { name: 'b', start: 0, length: 1024, target: 'zero', params: '' },
      { name: 'c', start: 0, length: 16, target: 'zero', params: '' },
      { name: 'd', start: 0, length: 1024, target: 'zero', params: '' },
      { name: 'd', start: 1024, length: 1024, target: 'error', params: '' },
    ];
    expect(formatAllDevices(['a', 'b', 'c', 'd'], lines)).toBe(kernelPrinted('misc', 'dmsim table', 1));
  });
});

describe('targets and message', () => {
  it('pads target names to 16 columns', () => {
    const printed = kernelPrinted('misc', 'dmsim targets #kernel-subset').split('\n');
    expect(printed).toContain(formatTargets([{ name: 'zero', version: '1.1.0' }]).trimEnd());
    expect(printed).toContain(formatTargets([{ name: 'snapshot-origin', version: '1.9.0' }]).trimEnd());
  });

  it('prints a message reply with one newline, and nothing for an empty reply', () => {
    expect(formatMessageReply('')).toBe('');
    expect(formatMessageReply('ok')).toBe('ok\n');
    expect(formatMessageReply('ok\n')).toBe('ok\n');
  });
});

describe('deps', () => {
  it('prints the count, a tab, and each device last-named first', () => {
    expect(formatDeps([{ name: 'a', devices: ['$D2', '$D1'] }], false)).toBe(kernelPrinted('deps', 'dmsim deps a'));
  });

  it('prefixes NAME: when listing all, including devices with none', () => {
    const deps = [
      { name: 'a', devices: ['$D2', '$D1'] },
      { name: 'b', devices: ['/dev/mapper/a'] },
      { name: 'z', devices: [] },
    ];
    expect(formatDeps(deps, true)).toBe(kernelPrinted('deps', 'dmsim deps'));
  });
});
