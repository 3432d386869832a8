// Activation: re-creates the recorded devices at daemon start, as LVM's vgchange -ay does at boot (a device is
// created after every mapped device its table names, by /dev/mapper/NAME or by a number recorded as bound to that
// device; otherwise in the order they were first created). Each word is bound again to what the state file
// recorded (a `253:MINOR` to the device it named then, whatever minor that device gets now; a relative path to
// the absolute path it was resolved to). Each device's own target constructors then read what is on disk:
// persistent snapshots and disk logs come back, transient snapshots and core logs start over, as in the kernel.

import { MAPPER_PREFIX } from '../dm/device-pool.js';
import { splitArgs } from '../dm/table-parser.js';
import type { ControlEngine } from './engine.js';
import { bindOf, boundTo, type RecordedDevice } from './state-file.js';

/** The outcome for one device: created, or the reason it was not. */
export type ActivationResult = { name: string; ok: true } | { name: string; ok: false; reason: string };

/** The names of the recorded devices `device`'s table uses. */
function dependencies(device: RecordedDevice, all: readonly RecordedDevice[]): string[] {
  const out = new Set<string>();
  for (const line of device.table) {
    for (const word of splitArgs(line)) {
      const bound = boundTo(device, word);
      const name = bound.startsWith(MAPPER_PREFIX) ? bound.slice(MAPPER_PREFIX.length) : undefined;
      if (name !== undefined && name !== device.name && all.some((d) => d.name === name)) out.add(name);
    }
  }
  return [...out];
}

/** Stacking order: every device after the devices it uses; ties keep the recorded (creation) order. */
export function activationOrder(devices: readonly RecordedDevice[]): RecordedDevice[] {
  const done = new Set<string>();
  const order: RecordedDevice[] = [];
  const visiting = new Set<string>();
  // Depth first with its own list, not recursion: a state file may record a stack of any depth.
  const path: { d: RecordedDevice; deps: string[]; next: number }[] = [];
  const enter = (d: RecordedDevice): void => {
    if (done.has(d.name) || visiting.has(d.name)) return; // a loop cannot be built; if a file claims one, creation reports it
    visiting.add(d.name);
    path.push({ d, deps: dependencies(d, devices), next: 0 });
  };
  for (const root of devices) {
    enter(root);
    while (path.length > 0) {
      const top = path[path.length - 1]!;
      const dep = top.deps[top.next++];
      if (dep !== undefined) {
        enter(devices.find((x) => x.name === dep)!);
        continue;
      }
      path.pop();
      visiting.delete(top.d.name);
      done.add(top.d.name);
      order.push(top.d);
    }
  }
  return order;
}

/**
 * Creates each device in stacking order; a device that fails is reported and the others still come up. Then
 * every snapshot-origin device is suspended and resumed, as LVM resumes an origin after its snapshots: the
 * origin learns its snapshots' chunk size (dm-snap origin_resume) only when it resumes, and splits writes by it.
 */
export async function activate(engine: ControlEngine, devices: readonly RecordedDevice[]): Promise<ActivationResult[]> {
  const results: ActivationResult[] = [];
  for (const d of activationOrder(devices)) {
    const failedDep = dependencies(d, devices).find((dep) => results.some((r) => r.name === dep && !r.ok));
    if (failedDep !== undefined) {
      results.push({ name: d.name, ok: false, reason: `it uses ${failedDep}, which did not come back` });
      continue;
    }
    try {
      await engine.create(d.name, d.table.join('\n'), {
        ...bindOf(d),
        readOnly: d.readOnly,
        ...(d.uuid !== undefined ? { uuid: d.uuid } : {}),
        ...(d.table.length === 0 ? { notable: true } : {}),
      });
      results.push({ name: d.name, ok: true });
    } catch (e) {
      results.push({ name: d.name, ok: false, reason: (e as Error).message });
    }
  }
  for (const d of devices) {
    if (!results.some((r) => r.name === d.name && r.ok) || !d.table.some((l) => splitArgs(l)[2] === 'snapshot-origin'))
      continue;
    try {
      await engine.suspend(d.name);
      await engine.resume(d.name);
    } catch (e) {
      const i = results.findIndex((r) => r.name === d.name);
      results[i] = {
        name: d.name,
        ok: false,
        reason: `created, but resuming it after its snapshots failed: ${(e as Error).message}`,
      };
    }
  }
  return results;
}
