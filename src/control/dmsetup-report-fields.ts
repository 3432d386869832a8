// dmsetup 1.02.185's report fields (lvm2 libdm/dm-tools/dmsetup.c: _report_types, _report_fields and their
// _dm_*_disp functions) for `info -c` and `splitname`, over what the daemon answers. Device numbers and kernel
// names come from one DeviceNumbers, so the dmsetup personality can print the numbers the kernel would.

import { InvalidArgumentError } from '../base/errors.js';
import type { DmTree, ReportDevice, TreeNode } from './dm-tree.js';
import type { WireDeviceInfo } from './protocol.js';
import type { FieldValue, ReportDefinition, ReportField, ReportType } from './report.js';

/** How a report prints a device's number and kernel name. */
export interface DeviceNumbers {
  /** "MAJOR:MINOR" (devno, ls --tree). */
  devno(d: ReportDevice): string;
  /** "MAJOR, MINOR" (deps). */
  devnoPair(d: ReportDevice): string;
  /** The kernel's name of the block device: dm-MINOR for a mapped device. */
  blockName(d: ReportDevice): string;
}

/**
 * dmsim's numbers: a mapped device is 253:MINOR and dm-MINOR as in the kernel; any other device has no number in
 * dmsim, so it is named as its table named it (the contract for table lines), its kernel name the file's name.
 */
export const DMSIM_NUMBERS: DeviceNumbers = {
  devno: (d) => (d.mapped ? `${d.major}:${d.minor}` : d.word),
  devnoPair: (d) => (d.mapped ? `${d.major}, ${d.minor}` : d.word),
  blockName: (d) => (d.mapped ? `dm-${d.minor}` : (d.boundTo ?? d.word).replace(/^.*\//, '')),
};

/** dm_split_lvm_name's parts of a name, and the subsystem (the UUID's prefix). */
export interface SplitName {
  subsystem: string;
  vg: string;
  lv: string;
  layer: string;
}

/** _unquote: one "-"-separated part ("--" stands for "-"); returns it and the rest. */
function unquote(s: string): [string, string] {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '-' && i + 1 < s.length) {
      if (s[i + 1] === '-') i++;
      else return [out, s.slice(i + 1)];
    }
    out += s[i]!;
  }
  return [out, ''];
}

/** _get_split_name: the subsystem is the UUID up to `separator` (all of it for splitname); LVM names split. */
export function splitName(name: string, uuid: string, separator: string | null): SplitName {
  const at = separator === null ? uuid.length : uuid.indexOf(separator);
  const subsystem = at < 0 ? '' : uuid.slice(0, at);
  if (subsystem !== 'LVM') return { subsystem, vg: '', lv: '', layer: '' };
  const [vg, rest] = unquote(name);
  const [lv, rest2] = unquote(rest);
  const [layer] = unquote(rest2);
  return { subsystem, vg, lv, layer };
}

/** One row of `info -c`: a device's info, what its live table uses, its tree node, its split name. */
export interface DeviceRow {
  info: WireDeviceInfo;
  device: ReportDevice;
  deps: readonly ReportDevice[];
  tree: DmTree;
  split: SplitName;
}

const TYPES = {
  task: { id: 'task', desc: 'Mapped Device Name', prefix: 'name_' },
  info: { id: 'info', desc: 'Mapped Device Information', prefix: 'info_' },
  deps: { id: 'deps', desc: 'Mapped Device Relationship Information', prefix: 'deps_' },
  tree: { id: 'tree', desc: 'Mapped Device Relationship Information', prefix: 'tree_' },
  name: { id: 'name', desc: 'Mapped Device Name Components', prefix: 'splitname_' },
  stats: { id: 'stats', desc: 'Mapped Device Statistics', prefix: 'stats_' },
  meta: { id: 'meta', desc: 'Mapped Device Statistics Region Information', prefix: 'region_' },
} satisfies Record<string, ReportType>;

type TypeKey = keyof typeof TYPES;
type Kind = 'STR' | 'NUM' | 'SIZ';

/** dmsetup's _report_fields, in its order: type, kind, heading, width, id, description. */
const FIELDS: readonly [TypeKey, Kind, string, number, string, string][] = [
  ['task', 'STR', 'Name', 16, 'name', 'Name of mapped device.'],
  ['task', 'STR', 'MangledName', 16, 'mangled_name', 'Mangled name of mapped device.'],
  ['task', 'STR', 'UnmangledName', 16, 'unmangled_name', 'Unmangled name of mapped device.'],
  ['task', 'STR', 'UUID', 32, 'uuid', 'Unique (optional) identifier for mapped device.'],
  ['task', 'STR', 'MangledUUID', 32, 'mangled_uuid', 'Mangled unique (optional) identifier for mapped device.'],
  ['task', 'STR', 'UnmangledUUID', 32, 'unmangled_uuid', 'Unmangled unique (optional) identifier for mapped device.'],
  ['task', 'NUM', 'RAhead', 6, 'read_ahead', 'Read ahead value.'],
  ['info', 'STR', 'BlkDevName', 16, 'blkdevname', 'Name of block device.'],
  ['info', 'STR', 'Stat', 4, 'attr', '(L)ive, (I)nactive, (s)uspended, (r)ead-only, read-(w)rite.'],
  ['info', 'STR', 'Tables', 6, 'tables_loaded', 'Which of the live and inactive table slots are filled.'],
  ['info', 'STR', 'Suspended', 9, 'suspended', 'Whether the device is suspended.'],
  ['info', 'STR', 'Read-only', 9, 'readonly', 'Whether the device is read-only or writeable.'],
  ['info', 'STR', 'DevNo', 5, 'devno', 'Device major and minor numbers'],
  ['info', 'NUM', 'Maj', 3, 'major', 'Block device major number.'],
  ['info', 'NUM', 'Min', 3, 'minor', 'Block device minor number.'],
  ['info', 'NUM', 'Open', 4, 'open', 'Number of references to open device, if requested.'],
  ['info', 'NUM', 'Targ', 4, 'segments', 'Number of segments in live table, if present.'],
  ['info', 'NUM', 'Event', 6, 'events', 'Number of most recent event.'],
  ['deps', 'NUM', '#Devs', 5, 'device_count', 'Number of devices used by this one.'],
  ['tree', 'STR', 'DevNamesUsed', 16, 'devs_used', 'List of names of mapped devices used by this one.'],
  ['deps', 'STR', 'DevNosUsed', 16, 'devnos_used', 'List of device numbers of devices used by this one.'],
  ['deps', 'STR', 'BlkDevNamesUsed', 16, 'blkdevs_used', 'List of names of block devices used by this one.'],
  ['tree', 'NUM', '#Refs', 5, 'device_ref_count', 'Number of mapped devices referencing this one.'],
  ['tree', 'STR', 'RefNames', 8, 'names_using_dev', 'List of names of mapped devices using this one.'],
  ['tree', 'STR', 'RefDevNos', 9, 'devnos_using_dev', 'List of device numbers of mapped devices using this one.'],
  ['name', 'STR', 'Subsys', 6, 'subsystem', 'Userspace subsystem responsible for this device.'],
  ['name', 'STR', 'VG', 4, 'vg_name', 'LVM Volume Group name.'],
  ['name', 'STR', 'LV', 4, 'lv_name', 'LVM Logical Volume name.'],
  ['name', 'STR', 'LVLayer', 7, 'lv_layer', 'LVM device layer.'],
  ['stats', 'NUM', '#Reads', 6, 'read_count', 'Count of reads completed.'],
  ['stats', 'NUM', '#RdMrgs', 7, 'reads_merged_count', 'Count of read requests merged.'],
  ['stats', 'NUM', '#RdSectors', 10, 'read_sector_count', 'Count of sectors read.'],
  ['stats', 'NUM', 'AccRdTime', 11, 'read_time', 'Accumulated duration of all read requests (ns).'],
  ['stats', 'NUM', '#Writes', 7, 'write_count', 'Count of writes completed.'],
  ['stats', 'NUM', '#WrMrgs', 7, 'writes_merged_count', 'Count of write requests merged.'],
  ['stats', 'NUM', '#WrSectors', 10, 'write_sector_count', 'Count of sectors written.'],
  ['stats', 'NUM', 'AccWrTime', 11, 'write_time', 'Accumulated duration of all writes (ns).'],
  ['stats', 'NUM', '#InProg', 7, 'in_progress_count', 'Count of requests currently in progress.'],
  ['stats', 'NUM', 'IoTicks', 7, 'io_ticks', 'Nanoseconds spent servicing requests.'],
  ['stats', 'NUM', 'QueueTicks', 10, 'queue_ticks', 'Total nanoseconds spent in queue.'],
  ['stats', 'NUM', 'RdTicks', 7, 'read_ticks', 'Nanoseconds spent servicing reads.'],
  ['stats', 'NUM', 'WrTicks', 7, 'write_ticks', 'Nanoseconds spent servicing writes.'],
  ['stats', 'NUM', 'RMrg/s', 6, 'reads_merged_per_sec', 'Read requests merged per second.'],
  ['stats', 'NUM', 'WMrg/s', 6, 'writes_merged_per_sec', 'Write requests merged per second.'],
  ['stats', 'NUM', 'R/s', 3, 'reads_per_sec', 'Reads per second.'],
  ['stats', 'NUM', 'W/s', 3, 'writes_per_sec', 'Writes per second.'],
  ['stats', 'NUM', 'RSz/s', 5, 'read_size_per_sec', 'Size of data read per second.'],
  ['stats', 'NUM', 'WSz/s', 5, 'write_size_per_sec', 'Size of data written per second.'],
  ['stats', 'NUM', 'AvgRqSz', 7, 'avg_request_size', 'Average request size.'],
  ['stats', 'NUM', 'QSize', 5, 'queue_size', 'Average queue size.'],
  // "Averate" is dmsetup's spelling; -o help prints it.
  ['stats', 'NUM', 'AWait', 5, 'await', 'Averate wait time.'],
  ['stats', 'NUM', 'RdAWait', 7, 'read_await', 'Averate read wait time.'],
  ['stats', 'NUM', 'WrAWait', 7, 'write_await', 'Averate write wait time.'],
  ['stats', 'NUM', 'Throughput', 10, 'throughput', 'Throughput.'],
  ['stats', 'NUM', 'SvcTm', 5, 'service_time', 'Service time.'],
  ['stats', 'NUM', 'Util%', 5, 'util', 'Utilization.'],
  ['stats', 'STR', 'Histogram Counts', 16, 'hist_count', 'Latency histogram counts.'],
  ['stats', 'STR', 'Histogram Counts', 16, 'hist_count_bounds', 'Latency histogram counts with bin boundaries.'],
  ['stats', 'STR', 'Histogram Counts', 16, 'hist_count_ranges', 'Latency histogram counts with bin ranges.'],
  ['stats', 'STR', 'Histogram%', 10, 'hist_percent', 'Relative latency histogram.'],
  ['stats', 'STR', 'Histogram%', 10, 'hist_percent_bounds', 'Relative latency histogram with bin boundaries.'],
  ['stats', 'STR', 'Histogram%', 10, 'hist_percent_ranges', 'Relative latency histogram with bin ranges.'],
  ['stats', 'NUM', 'IntervalNs', 10, 'interval_ns', 'Sampling interval in nanoseconds.'],
  ['stats', 'NUM', 'Interval', 8, 'interval', 'Sampling interval.'],
  ['meta', 'NUM', 'RgID', 4, 'region_id', 'Region ID.'],
  ['meta', 'SIZ', 'RgStart', 7, 'region_start', 'Region start.'],
  ['meta', 'SIZ', 'RgSize', 6, 'region_len', 'Region length.'],
  ['meta', 'NUM', 'ArID', 4, 'area_id', 'Area ID.'],
  ['meta', 'SIZ', 'ArStart', 7, 'area_start', 'Area offset from start of device.'],
  ['meta', 'SIZ', 'ArSize', 6, 'area_len', 'Area length.'],
  ['meta', 'SIZ', 'ArOff', 5, 'area_offset', 'Area offset from start of region.'],
  ['meta', 'NUM', '#Areas', 6, 'area_count', 'Area count.'],
  ['meta', 'NUM', 'GrpID', 5, 'group_id', 'Group ID.'],
  ['meta', 'STR', 'ProgID', 6, 'program_id', 'Program ID.'],
  ['meta', 'STR', 'UserData', 8, 'user_data', 'Auxiliary data.'],
  ['meta', 'STR', 'Precise', 7, 'precise', 'Set if nanosecond precision counters are enabled.'],
  ['meta', 'STR', '#Bins', 9, 'hist_bins', 'The number of histogram bins configured.'],
  ['meta', 'STR', 'Histogram Bounds', 16, 'hist_bounds', 'Latency histogram bin boundaries.'],
  ['meta', 'STR', 'Histogram Ranges', 16, 'hist_ranges', 'Latency histogram bin ranges.'],
  ['meta', 'STR', 'Name', 16, 'stats_name', 'Stats name of current object.'],
  ['meta', 'STR', 'ObjType', 7, 'obj_type', 'Type of stats object being reported.'],
];

/** A list field's text, sorted as that text (dm_report_field_set_value). */
const list = (items: readonly string[]): FieldValue => items.join(',');

/** The names (or numbers) of the mapped devices a tree node uses, or is used by (_dm_tree_names). */
function treeNeighbours(node: TreeNode | undefined, inverted: boolean): TreeNode[] {
  if (!node) return [];
  return node.children(inverted).filter((n) => n.device !== null);
}

/** What each device field shows, by id (the dmsetup _dm_*_disp functions). */
function deviceValues(numbers: DeviceNumbers): Record<string, (r: DeviceRow) => FieldValue> {
  const node = (r: DeviceRow): TreeNode | undefined => r.tree.node(r.device);
  return {
    name: (r) => r.info.name,
    mangled_name: (r) => r.info.name,
    unmangled_name: (r) => r.info.name,
    uuid: (r) => r.info.uuid,
    mangled_uuid: (r) => r.info.uuid,
    unmangled_uuid: (r) => r.info.uuid,
    read_ahead: (r) => r.info.readAhead,
    blkdevname: (r) => numbers.blockName(r.device),
    attr: (r) => {
      const i = r.info;
      const live = i.tablesPresent === 'LIVE' || i.tablesPresent === 'LIVE & INACTIVE';
      const inactive = i.tablesPresent === 'INACTIVE' || i.tablesPresent === 'LIVE & INACTIVE';
      return `${live ? 'L' : '-'}${inactive ? 'I' : '-'}${i.state === 'SUSPENDED' ? 's' : '-'}${i.readOnly ? 'r' : 'w'}`;
    },
    tables_loaded: (r) =>
      ({ LIVE: 'Live', INACTIVE: 'Inactive', 'LIVE & INACTIVE': 'Both', None: 'None' })[r.info.tablesPresent],
    suspended: (r) => (r.info.state === 'SUSPENDED' ? 'Suspended' : 'Active'),
    readonly: (r) => (r.info.readOnly ? 'Read-only' : 'Writeable'),
    devno: (r) => numbers.devno(r.device),
    major: (r) => r.info.major,
    minor: (r) => r.info.minor,
    open: (r) => r.info.openCount,
    segments: (r) => r.info.targetCount,
    events: (r) => r.info.eventNr,
    device_count: (r) => r.deps.length,
    devs_used: (r) =>
      list(
        treeNeighbours(node(r), false)
          .map((n) => n.name)
          .filter((n) => n !== ''),
      ),
    devnos_used: (r) => list(r.deps.map(numbers.devno)),
    blkdevs_used: (r) => list(r.deps.map(numbers.blockName)),
    device_ref_count: (r) => node(r)?.childCount(true) ?? 0,
    names_using_dev: (r) =>
      list(
        treeNeighbours(node(r), true)
          .map((n) => n.name)
          .filter((n) => n !== ''),
      ),
    devnos_using_dev: (r) => list(treeNeighbours(node(r), true).map((n) => numbers.devno(n.device as ReportDevice))),
    subsystem: (r) => r.split.subsystem,
    vg_name: (r) => r.split.vg,
    lv_name: (r) => r.split.lv,
    lv_layer: (r) => r.split.layer,
  };
}

/** dmsetup's fields (every one, as -o help lists them) with what `command` shows for each; any other field is refused. */
export function fieldsOf<O>(command: string, values: Record<string, (row: O) => FieldValue>): ReportField<O>[] {
  const notReported = (id: string) => (): never => {
    throw new InvalidArgumentError(`${command} does not report the field ${id}`);
  };
  return FIELDS.map(([type, kind, heading, width, id, desc]) => ({
    type: TYPES[type],
    kind: kind === 'STR' ? 'string' : 'number',
    heading,
    width,
    id,
    desc,
    value: values[id] ?? notReported(id),
  }));
}

/** dmsetup's _report_types, in order. */
export const TYPE_LIST: readonly ReportType[] = Object.values(TYPES);

/** `info -c`: every field, the defaults "name,major,minor,attr,open,segments,events,uuid", no prefix. */
export function infoColumnsReport(numbers: DeviceNumbers): ReportDefinition<DeviceRow> {
  return {
    types: TYPE_LIST,
    fields: fieldsOf('info -c', deviceValues(numbers)),
    defaults: 'name,major,minor,attr,open,segments,events,uuid',
    prefix: '',
  };
}

/** `splitname NAME [SUBSYSTEM]`: the name-component fields, defaults "vg_name,lv_name,lv_layer". */
export const SPLITNAME_REPORT: ReportDefinition<SplitName> = {
  types: TYPE_LIST,
  fields: fieldsOf<SplitName>('splitname', {
    subsystem: (s) => s.subsystem,
    vg_name: (s) => s.vg,
    lv_name: (s) => s.lv,
    lv_layer: (s) => s.layer,
  }),
  defaults: 'vg_name,lv_name,lv_layer',
  prefix: TYPES.name.prefix,
};
