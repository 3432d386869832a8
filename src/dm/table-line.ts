// TableLine: one line of a device's table or status as dm-ioctl.c's retrieve_status hands it out (struct
// dm_target_spec: sector_start, length, target_type, then the parameter string), with the device's name.

/** One line of `dmsetup table` / `dmsetup status`: params is the text after the target type. */
export interface TableLine {
  name: string;
  start: number;
  length: number;
  target: string;
  params: string;
}

/** "START LENGTH TARGET PARAMS" lines as dmsetup table prints them (and as a table loads them back). */
export function tableText(lines: readonly TableLine[]): string {
  return lines.map((l) => `${l.start} ${l.length} ${l.target} ${l.params}`.trimEnd()).join('\n');
}
