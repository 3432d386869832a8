// `dmsim/target`: what a target author needs — the Target and TargetType interfaces (the kernel's struct
// target_type and dm_target), argument readers that refuse words as dm-table.c does, bios and how to pass one
// down, and the registry a DeviceMapper is handed.
//
//   import { DeviceMapper } from 'dmsim';
//   import { ArgSet, type TargetType } from 'dmsim/target';
//   const dm = new DeviceMapper();
//   dm.registry.register(myTargetType);          // then tables may name it

export type { Bio, BioOp } from './dm/bio.js';
export { ArgSet, lookupDevice, parseSectorArg, parseUintArg, TargetArgumentError } from './dm/dm-args.js';
export { submitBio } from './dm/submit-bio.js';
export type { DeviceArea, DmDevice, StatusType, Target, TargetContext, TargetType } from './dm/target.js';
export { TargetRegistry } from './dm/target-registry.js';
