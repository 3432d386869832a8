// Where the control socket lives: --socket, else $DMSIM_SOCKET, else $XDG_RUNTIME_DIR/dmsim/control,
// else /tmp/dmsim-$UID/control. The daemon creates the directory 0700 and the socket 0600.

import { tmpdir } from 'node:os';
import { join } from 'node:path';

export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  if (env.XDG_RUNTIME_DIR) return join(env.XDG_RUNTIME_DIR, 'dmsim', 'control');
  const uid = typeof process.getuid === 'function' ? process.getuid() : 0;
  return join(tmpdir(), `dmsim-${uid}`, 'control');
}

export function resolveSocketPath(option: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  return option ?? (env.DMSIM_SOCKET || defaultSocketPath(env));
}
