// The data pattern of fixtures/snapshot/jobs/lib.sh: sector s written with tag T holds 32 lines "T:%011d\n"
// (T padded to 3 characters) numbered s*32 .. s*32+31, so every 16 bytes on a device are unique.

export function pattern(tag: string, sector: number, count: number): Buffer {
  const lines: string[] = [];
  for (let n = sector * 32; n < (sector + count) * 32; n++)
    lines.push(`${tag.padEnd(3)}:${String(n).padStart(11, '0')}\n`);
  return Buffer.from(lines.join(''), 'latin1');
}

/** A fresh COW as make-images.sh makes it: 0xAA everywhere except a zeroed first sector (magic 0 = new store). */
export function cowImage(sectors: number): Buffer {
  const b = Buffer.alloc(sectors * 512, 0xaa);
  b.fill(0, 0, 512);
  return b;
}
