// `dmsim inspect FILE`: decodes an image file the kernel or dmsim wrote, a snapshot's persistent COW store or a
// mirror's disk log, without activating anything (read-only). The format comes from --as or from the magic
// number each format starts with (dm-snap-persistent.c SNAP_MAGIC, dm-log.c MIRROR_MAGIC).

import { InvalidArgumentError } from '../src/base/errors.js';
import { SECTOR_SIZE } from '../src/base/size.js';
import { FileDevice } from '../src/block/file-device.js';
import { diskLogBufferSize, MIRROR_MAGIC } from './mirror/disk-log.js';
import { inspectDiskLogImage, type MirrorInspection } from './mirror/inspect.js';
import { decodeCow, type SnapshotInspection } from './snapshot/inspect.js';
import { SNAP_MAGIC } from './snapshot/persistent-store.js';

export type ImageInspection = SnapshotInspection | MirrorInspection;

export async function inspectImage(path: string, format: 'cow' | 'disk-log' | 'auto'): Promise<ImageInspection> {
  const dev = await FileDevice.open(path, { readOnly: true });
  try {
    if (dev.sizeSectors < 1) throw new InvalidArgumentError(`${path}: shorter than one sector, nothing to decode`);
    const first = Buffer.alloc(SECTOR_SIZE);
    await dev.read(0, first);
    const magic = first.readUInt32LE(0);
    const kind = format !== 'auto' ? format : magic === SNAP_MAGIC ? 'cow' : magic === MIRROR_MAGIC ? 'disk-log' : null;
    if (kind === null) {
      throw new InvalidArgumentError(
        `${path}: magic 0x${magic.toString(16).padStart(8, '0')} is neither a snapshot COW's (0x${SNAP_MAGIC.toString(16)} "SnAp") nor a mirror disk log's (0x${MIRROR_MAGIC.toString(16)} "MiRr"); give --as cow for a COW that has no header yet`,
      );
    }
    if (kind === 'cow') return await decodeCow(dev, path);
    // The log buffer is as long as its nr_regions needs; a header that claims more bits than the file holds
    // (LVM's 2^64-1) is decoded from what is there.
    const nr = first.readBigUInt64LE(8);
    const fileBytes = dev.sizeSectors * SECTOR_SIZE;
    const wanted = nr <= BigInt(fileBytes * 8) ? diskLogBufferSize(Number(nr)) : fileBytes;
    const buf = Buffer.alloc(Math.min(wanted, fileBytes));
    await dev.read(0, buf);
    return inspectDiskLogImage(buf, path);
  } finally {
    await dev.close();
  }
}
