// Events about one device, for `wait` and a device's event stream (dmsetup has no such filter: its wait reads
// the device's event counter). An event is about a device when its `device` field names it: dm.event,
// snapshot.*, mirror.*, dm.removed, io.error. kcopyd's job, pass, queue, pool and progress events name a
// client, not a device, so a listener for one device does not take them, and the engine does not build them
// (during a resync that is an event for every step of every sub-job).

import type { DmEventType } from '../base/events.js';

export function isAbout(event: object, device: string): boolean {
  return (event as { device?: unknown }).device === device;
}

/** The event kinds that can be about a device: a bus filter for listeners that call isAbout. */
export function mayBeAboutDevice(type: DmEventType): boolean {
  return !type.startsWith('kcopyd.') || type === 'kcopyd.io-error';
}
