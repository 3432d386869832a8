// The dmsetup personality's command line against dmsetup's documented switches (dmsetup(8), 1.02.185): options
// before or after the command, /dev/mapper/NAME for NAME, and the switches that change nothing in dmsim dropped.

import { describe, expect, it } from 'vitest';
import { readDmsetupArgv } from '../../src/cli/dmsetup-argv.js';

describe('readDmsetupArgv', () => {
  it('moves the command first and keeps its own options and their values in order', () => {
    expect(readDmsetupArgv(['-f', 'remove', 'lv'])).toEqual({
      command: 'remove',
      device: 'lv',
      argv: ['remove', 'lv', '-f'],
    });
    expect(readDmsetupArgv(['create', 'x', '-u', 'U-1', '--table', '0 8 zero'])).toEqual({
      command: 'create',
      device: 'x',
      argv: ['create', 'x', '-u', 'U-1', '--table', '0 8 zero'],
    });
  });

  it('drops udev, numbering, verbosity and retry switches, with their values', () => {
    expect(
      readDmsetupArgv([
        '--noudevsync',
        '-j',
        '253',
        '-m',
        '5',
        '-y',
        '-v',
        'create',
        'd',
        '--retry',
        '--table',
        '0 8 zero',
      ]),
    ).toEqual({ command: 'create', device: 'd', argv: ['create', 'd', '--table', '0 8 zero'] });
    expect(readDmsetupArgv(['remove', '--udevcookie', '123', 'lv']).argv).toEqual(['remove', 'lv']);
  });

  it('reads /dev/mapper/NAME as NAME, also after stats’ own command word, and leaves table paths alone', () => {
    expect(readDmsetupArgv(['info', '/dev/mapper/vg-lv'])).toEqual({
      command: 'info',
      device: 'vg-lv',
      argv: ['info', 'vg-lv'],
    });
    expect(readDmsetupArgv(['stats', 'list', '/dev/mapper/lin']).argv).toEqual(['stats', 'list', 'lin']);
    expect(readDmsetupArgv(['load', 'a', '/dev/mapper/b']).argv).toEqual(['load', 'a', '/dev/mapper/b']);
  });

  it('takes --opt=value and -oVALUE as one word, and names no device for ls, targets, version', () => {
    expect(readDmsetupArgv(['--uuid=U', 'create', 'x']).argv).toEqual(['create', 'x', '--uuid=U']);
    expect(readDmsetupArgv(['-m5', 'ls'])).toEqual({ command: 'ls', argv: ['ls'] });
    expect(readDmsetupArgv(['ls', '--target', 'linear'])).toEqual({
      command: 'ls',
      argv: ['ls', '--target', 'linear'],
    });
  });
});
