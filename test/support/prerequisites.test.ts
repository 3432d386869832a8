// The prerequisite checks name what is missing (the message a CI failure shows) and find what is there.

import { basename, dirname } from 'node:path';
import { execPath } from 'node:process';
import { describe, expect, it } from 'vitest';
import { firstMissing, missingTools } from './prerequisites.js';

describe('missingTools', () => {
  it('names every program not on PATH, and none that is', () => {
    const node = basename(execPath);
    const path = process.env.PATH;
    process.env.PATH = dirname(execPath);
    try {
      expect(missingTools(node)).toBeNull();
      expect(missingTools('qemu-io-absent', node, 'nbdinfo-absent')).toBe('qemu-io-absent, nbdinfo-absent not on PATH');
    } finally {
      process.env.PATH = path;
    }
  });

  it('firstMissing keeps the first reason given', () => {
    expect(firstMissing(null, 'no /dev/fuse', 'not root')).toBe('no /dev/fuse');
    expect(firstMissing(null, null)).toBeNull();
  });
});
