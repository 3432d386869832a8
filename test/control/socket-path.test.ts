// Where the control socket is: --socket, else DMSIM_SOCKET, else XDG_RUNTIME_DIR/dmsim/control,
// else <tmpdir>/dmsim-<uid>/control (the documented order).

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveSocketPath } from '../../src/control/socket-path.js';

describe('resolveSocketPath', () => {
  it('takes --socket over everything', () => {
    expect(resolveSocketPath('/x/s', { DMSIM_SOCKET: '/y/s', XDG_RUNTIME_DIR: '/run/user/7' })).toBe('/x/s');
  });
  it('then DMSIM_SOCKET', () => {
    expect(resolveSocketPath(undefined, { DMSIM_SOCKET: '/y/s', XDG_RUNTIME_DIR: '/run/user/7' })).toBe('/y/s');
  });
  it('then XDG_RUNTIME_DIR/dmsim/control', () => {
    expect(resolveSocketPath(undefined, { XDG_RUNTIME_DIR: '/run/user/7' })).toBe('/run/user/7/dmsim/control');
  });
  it('then a per-user directory under the temporary directory', () => {
    expect(resolveSocketPath(undefined, {})).toBe(join(tmpdir(), `dmsim-${process.getuid?.() ?? 0}`, 'control'));
  });
  it('ignores an empty DMSIM_SOCKET', () => {
    expect(resolveSocketPath(undefined, { DMSIM_SOCKET: '', XDG_RUNTIME_DIR: '/run/user/7' })).toBe(
      '/run/user/7/dmsim/control',
    );
  });
});
