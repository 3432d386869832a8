// `dmsim`, the package root: DeviceMapper (every dmsetup verb as a method), block devices and images, errors, the
// event bus, kcopyd, typed status and table lines, and waitFor. The other layers are subpaths: `dmsim/scenario`
// (lessons and test flows), `dmsim/control` (a daemon and its client), `dmsim/target` (what a target author
// needs), `dmsim/testing` (a private device-mapper per test).
//
//   import { DeviceMapper, MemoryDevice } from 'dmsim';
//   const dm = new DeviceMapper();
//   dm.addBackingDevice('disk', new MemoryDevice('disk', 2048));
//   await dm.create('lin', '0 2048 linear disk 0');
//   const dev = await dm.open('lin');            // remove() refuses with EBUSY while a handle is open
//   await dev.write(0, Buffer.alloc(512, 0xab));
//   await dev.close();
//   await dm.remove('lin');

export type { DelayClassParams, DelayStatus, DelayTableParams } from '../targets/delay-status.js';
export { DeviceMapper } from '../targets/device-mapper.js';
export type { FlakeyCorruption, FlakeyTableParams } from '../targets/flakey-status.js';
export type {
  LegHealth,
  LogHealth,
  MirrorLogStatus,
  MirrorLogTable,
  MirrorStatus,
  MirrorTableParams,
  SyncMode,
} from '../targets/mirror/status.js';
export { isMirrorInSync } from '../targets/mirror/status.js';
export type {
  OriginTableParams,
  SnapshotStatus,
  SnapshotStoreType,
  SnapshotTableParams,
} from '../targets/snapshot/status.js';
export { isMergeComplete } from '../targets/snapshot/status.js';
export type { StatusLine, TargetStatus, TargetTable, TypedTableLine } from '../targets/status.js';
export {
  formatTargetStatus,
  formatTargetTable,
  parseTargetStatus,
  parseTargetTable,
  tableDevices,
  withParsedStatus,
  withParsedTable,
} from '../targets/status.js';
export type { DeviceState, WaitCondition } from '../targets/wait-condition.js';
export type { Clock } from './base/clock.js';
export { ManualClock, SystemClock } from './base/clock.js';
export type { DmErrorCode } from './base/errors.js';
export {
  BusyError,
  DmError,
  ExistsError,
  InvalidArgumentError,
  IoError,
  isDmError,
  NoDeviceError,
  NoSpaceError,
  ReadOnlyError,
  TimeoutError,
} from './base/errors.js';
export type { DmEvent, DmEventListener, DmEventMap, DmEventType } from './base/events.js';
export { defaultBus, EventBus } from './base/events.js';
export { PAGE_SIZE, parseSizeBytes, SECTOR_SIZE } from './base/size.js';
export { DMSIM_VERSION } from './base/version.js';
export type { BlockDevice } from './block/block-device.js';
export { FileDevice } from './block/file-device.js';
export { makeImage } from './block/image.js';
export { MemoryDevice } from './block/memory-device.js';
export type { WaitOptions } from './control/wait-for.js';
export { waitFor } from './control/wait-for.js';
export { ChromeTraceBuilder, type ChromeTraceEvent, ChromeTraceFile } from './dm/chrome-trace.js';
export type { CreateOptions, DeviceInfo, DeviceMapperOptions, DeviceSummary } from './dm/device-mapper-core.js';
export type { DeviceRequest } from './dm/mapped-device.js';
export { MappedBlockDevice, MappedDevice } from './dm/mapped-device.js';
export type { TableLine } from './dm/table-line.js';
export { tableText } from './dm/table-line.js';
export type { TableSpecLine } from './dm/table-parser.js';
export { parseTable, splitArgs } from './dm/table-parser.js';
export { openTraceFile, TraceFile } from './dm/trace-file.js';
export type { KcopydEngineOptions } from './kcopyd/engine.js';
export { KcopydEngine, runUntilIdle } from './kcopyd/engine.js';
export type { KcopydEnvironment } from './kcopyd/environment.js';
export { createKcopydClient, defaultKcopydEngine } from './kcopyd/kcopyd-client.js';
export { AutoScheduler, ManualScheduler } from './kcopyd/scheduler.js';
export { KcopydThrottle } from './kcopyd/throttle.js';
export * from './kcopyd/types.js';
