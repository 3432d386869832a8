// Block checksums of the persistent-data library (dm-block-manager.c: dm_bm_checksum, lib/crc32c): CRC-32C
// (Castagnoli) seeded with ~0 and not inverted at the end, XORed with a salt that names the block type, so a
// bitmap block can never pass as a btree node. thin-provisioning-tools computes the same (checksum.cc).

const CASTAGNOLI_REFLECTED = 0x82f63b78;

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ CASTAGNOLI_REFLECTED : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

/** The kernel's crc32c(seed, data): the raw register after the bytes [start, end), no final inversion. */
export function crc32c(seed: number, data: Uint8Array, start = 0, end = data.length): number {
  let c = seed >>> 0;
  for (let i = start; i < end; i++) c = TABLE[(c ^ data[i]!) & 0xff]! ^ (c >>> 8);
  return c >>> 0;
}

/** dm_bm_checksum over everything after the 4-byte csum field, XORed with the block type's salt. */
export function blockChecksum(block: Uint8Array, salt: number): number {
  return (crc32c(0xffffffff, block, 4, block.length) ^ salt) >>> 0;
}
