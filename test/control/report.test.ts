// The column report engine (libdm-report's twin) and dmsetup's report fields, checked against what dmsetup
// 1.02.185 printed on the oracle (fixtures/transcripts/kernel/reports.txt, fixtures/dmsetup-dropin/kernel/):
// the field list -o help prints, the refusals, and rows the engine lays out from known values.

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DMSIM_NUMBERS, infoColumnsReport, splitName } from '../../src/control/dmsetup-report-fields.js';
import { splitnameReport } from '../../src/control/dmsetup-reports.js';
import { type ReportDefinition, ReportFieldError, runReport } from '../../src/control/report.js';
import { parseTranscript } from '../e2e/transcript.js';

function kernelStep(file: string, command: string): { stdout: string[]; stderr: string[]; exit: number } {
  const t = parseTranscript(readFileSync(new URL(`../../fixtures/${file}`, import.meta.url), 'utf8'));
  const step = t.steps.find((s) => s.command === command);
  if (!step) throw new Error(`${file}: no '${command}'`);
  return step;
}

const INFO = infoColumnsReport(DMSIM_NUMBERS);

function refusal(run: () => unknown): ReportFieldError {
  try {
    run();
  } catch (e) {
    if (e instanceof ReportFieldError) return e;
    throw e;
  }
  throw new Error('not refused');
}

describe('-o help and unknown fields, as dmsetup prints them on stderr', () => {
  it('-o help lists every field by section (dmsetup-dropin recording), and prints no report', () => {
    const kernel = kernelStep('dmsetup-dropin/kernel/reports.txt', 'dmsim info -c -o help');
    const out = runReport(INFO, [], { fields: 'help' });
    expect(out.stdout).toBe('');
    expect(out.stderr).toBe(kernel.stderr.map((l) => `${l}\n`).join(''));
  });

  it('an unknown field: the list, then the field named; a sort key the same with "dm_report: "', () => {
    const field = kernelStep('transcripts/kernel/reports.txt', 'dmsim info -c -o nosuchfield #kernel-exact');
    const e = refusal(() => runReport(INFO, [], { fields: 'nosuchfield' }));
    expect([...e.help.split('\n').slice(0, -1), e.dmsetupMessage]).toEqual(field.stderr);
    expect(field.exit).toBe(1);
    const key = kernelStep('transcripts/kernel/reports.txt', 'dmsim info -c --sort nosuchfield #kernel-exact');
    const k = refusal(() => runReport(INFO, [], { sort: 'nosuchfield' }));
    expect([...k.help.split('\n').slice(0, -1), k.dmsetupMessage]).toEqual(key.stderr);
    expect(k.message).toBe('Unrecognised sort field: nosuchfield (-o help lists the fields)');
  });

  it('no prefix for info -c: dm_open is not a field there', () => {
    const kernel = kernelStep(
      'transcripts/kernel/reports.txt',
      'dmsim info -c -o Name,MAJOR,Minor,dm_open #kernel-exact',
    );
    expect(kernel.stderr.at(-1)).toBe('Unrecognised field: dm_open');
    expect(refusal(() => runReport(INFO, [], { fields: 'Name,MAJOR,Minor,dm_open' })).dmsetupMessage).toBe(
      'Unrecognised field: dm_open',
    );
  });
});

describe('layout (libdm-report): widths grow to the longest value, numbers right, strings left', () => {
  const def: ReportDefinition<{ n: string; v: number }> = {
    types: [{ id: 't', desc: 'T', prefix: 't_' }],
    fields: [
      {
        type: { id: 't', desc: 'T', prefix: 't_' },
        kind: 'string',
        heading: 'N',
        width: 2,
        id: 'n',
        desc: '',
        value: (r) => r.n,
      },
      {
        type: { id: 't', desc: 'T', prefix: 't_' },
        kind: 'number',
        heading: 'Value',
        width: 3,
        id: 'v',
        desc: '',
        value: (r) => r.v,
      },
    ],
    defaults: 'n,v',
    prefix: 't_',
  };
  const rows = [
    { n: 'long-name', v: 7 },
    { n: 'x', v: 12345678 },
  ];
  it('aligned with headings; the prefix names a field too; a hidden sort key reorders', () => {
    expect(runReport(def, rows, {}).stdout).toBe('N         Value   \nlong-name        7\nx         12345678\n');
    expect(runReport(def, rows, { fields: 't_v', sort: '-t_v' }).stdout).toBe('Value   \n12345678\n       7\n');
    expect(runReport(def, rows, { fields: 'n', sort: 'v' }).stdout).toBe('N        \nlong-name\nx        \n');
  });
  it('no rows: nothing at all, not even the headings', () => {
    expect(runReport(def, [], {})).toEqual({ stdout: '', stderr: '' });
  });
});

describe('splitname (dm_split_lvm_name)', () => {
  it.each([
    ['vg-lv', 'LVM', ['vg', 'lv', '']],
    ['vg--x-lv--y', 'LVM', ['vg-x', 'lv-y', '']],
    ['a-b-c-d', 'LVM', ['a', 'b', 'c']],
    ['vg-', 'LVM', ['vg-', '', '']],
    ['vg-lv', 'NONE', ['', '', '']],
  ])('%s (%s)', (name, subsystem, [vg, lv, layer]) => {
    expect(splitName(name, subsystem, null)).toEqual({ subsystem, vg, lv, layer });
  });
  it('the kernel recording: default fields, -c -o --noheadings', () => {
    const kernel = kernelStep('transcripts/kernel/reports.txt', 'dmsim splitname vg-lv-real LVM #kernel-exact');
    expect(splitnameReport('vg-lv-real', 'LVM', {}).stdout).toBe(kernel.stdout.map((l) => `${l}\n`).join(''));
  });
});
