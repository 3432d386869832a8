// Where an NBD server listens, as `dmsim export --listen` spells it (unix:PATH or tcp:HOST:PORT), and the
// NBD URI a client uses to reach an export there (the NBD URI spec: nbd://HOST:PORT/NAME,
// nbd+unix:///NAME?socket=PATH), as qemu, nbdinfo and nbdcopy accept it.

import { isIP } from 'node:net';
import { InvalidArgumentError } from '../base/errors.js';

export type ListenAddress = { kind: 'unix'; path: string } | { kind: 'tcp'; host: string; port: number };

/** The IANA port for NBD. */
const NBD_PORT = 10809;

export function parseListenAddress(text: string): ListenAddress {
  const usage = `'${text}' is not a listen address: use unix:PATH or tcp:HOST:PORT (e.g. tcp:127.0.0.1:${NBD_PORT})`;
  if (text.startsWith('unix:')) {
    const path = text.slice('unix:'.length);
    if (path === '') throw new InvalidArgumentError(usage);
    return { kind: 'unix', path };
  }
  if (text.startsWith('tcp:')) {
    const m = /^tcp:(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(text);
    if (!m) throw new InvalidArgumentError(usage);
    const host = m[1]!.replace(/^\[|\]$/g, '');
    const port = Number(m[2]);
    if (port > 65535) throw new InvalidArgumentError(`${text}: port ${port} is not between 0 and 65535`);
    return { kind: 'tcp', host, port };
  }
  throw new InvalidArgumentError(usage);
}

export function formatListenAddress(a: ListenAddress): string {
  return a.kind === 'unix' ? `unix:${a.path}` : `tcp:${bracketed(a.host)}:${a.port}`;
}

export function exportUri(a: ListenAddress, name: string): string {
  const path = encodeURIComponent(name);
  if (a.kind === 'unix') return `nbd+unix:///${path}?socket=${a.path}`;
  return `nbd://${bracketed(a.host)}:${a.port}/${path}`;
}

function bracketed(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}
