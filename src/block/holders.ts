// Who holds a block device: kernel holders (sysfs), mounts, and processes with it open. Used to explain EBUSY.

import { promises as fsp } from 'node:fs';
import { basename } from 'node:path';

export async function describeHolders(path: string): Promise<string> {
  const real = await fsp.realpath(path).catch(() => path);
  const name = basename(real);
  const found: string[] = [];
  const holders = await fsp.readdir(`/sys/class/block/${name}/holders`).catch(() => [] as string[]);
  for (const h of holders) found.push(`held by ${h}`);
  const mounts = await fsp.readFile('/proc/self/mounts', 'utf8').catch(() => '');
  for (const line of mounts.split('\n')) {
    const [dev, dir] = line.split(' ');
    if (dev === real || dev === path) found.push(`mounted on ${dir}`);
  }
  found.push(...(await processesHolding(real)));
  return found.length > 0 ? found.join(', ') : 'claimed exclusively by another opener';
}

async function processesHolding(real: string): Promise<string[]> {
  const out: string[] = [];
  const pids = (await fsp.readdir('/proc').catch(() => [] as string[])).filter(
    (p) => /^\d+$/.test(p) && Number(p) !== process.pid,
  );
  for (const pid of pids) {
    const fds = await fsp.readdir(`/proc/${pid}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await fsp.readlink(`/proc/${pid}/fd/${fd}`).catch(() => '');
      if (target === real) {
        const comm = (await fsp.readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '?')).trim();
        out.push(`open by ${comm} (pid ${pid})`);
        break;
      }
    }
  }
  return out;
}
