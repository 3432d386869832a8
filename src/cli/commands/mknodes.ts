// `dmsim mknodes [NAME...]`: dmsetup mknodes makes /dev/mapper nodes agree with the kernel's devices; dmsim's
// devices have no nodes (tables and the CLI name them /dev/mapper/NAME without one), so there is nothing to do.

import type { Command } from 'commander';
import { registerVerb } from '../daemon-session.js';

export function registerMknodes(program: Command): void {
  registerVerb(program, 'mknodes', { socket: false }, async () => {});
}
