// dmsetup 1.02.185's text output (libdm/dmsetup.c: _display_info_long, _status, _ls/_display_name,
// _targets, _version), checked against what the oracle's dmsetup printed (fixtures/transcripts/kernel/).

import type {
  DeviceDeps,
  TableLine,
  TargetVersion,
  VersionInfo,
  WireDeviceInfo,
  WireDeviceSummary,
} from './protocol.js';

export const NO_DEVICES = 'No devices found\n';

/** `table` / `status`: "<start> <length> <target> <params>", prefixed "NAME: " when every device is listed. */
export function formatTableLines(lines: readonly TableLine[], prefixNames: boolean): string {
  // dmsetup prints "%s " before the params even when they are empty, hence the trailing space.
  return lines
    .map((l) => `${prefixNames ? `${l.name}: ` : ''}${l.start} ${l.length} ${l.target} ${l.params}\n`)
    .join('');
}

/** `table NAME` / `status NAME`: a device without a live table prints one empty line. */
export function formatOneDevice(lines: readonly TableLine[]): string {
  return lines.length === 0 ? '\n' : formatTableLines(lines, false);
}

/**
 * `table` / `status` of every device (names in listing order): each device's lines, "NAME: " alone for a
 * device without a live table, "No devices found" when there is no device.
 */
export function formatAllDevices(names: readonly string[], lines: readonly TableLine[]): string {
  if (names.length === 0) return NO_DEVICES;
  return names
    .map((name) => {
      const own = lines.filter((l) => l.name === name);
      return own.length === 0 ? `${name}: \n` : formatTableLines(own, true);
    })
    .join('');
}

/** `info`: the long form, values at column 20, a blank line after each device. */
export function formatInfo(infos: readonly WireDeviceInfo[]): string {
  return infos.map(formatOneInfo).join('');
}

function formatOneInfo(i: WireDeviceInfo): string {
  const field = (label: string, value: string | number): string => `${`${label}:`.padEnd(19)}${value}\n`;
  return (
    field('Name', i.name) +
    field('State', `${i.state}${i.readOnly ? ' (READ-ONLY)' : ''}${i.deferredRemove ? ' (DEFERRED REMOVE)' : ''}`) +
    field('Read Ahead', i.readAhead) +
    field('Tables present', i.tablesPresent) +
    field('Open count', i.openCount) +
    field('Event number', i.eventNr) +
    field('Major, minor', `${i.major}, ${i.minor}`) +
    field('Number of targets', i.targetCount) +
    // dmsetup 1.02.185 prints the UUID with a single space, unlike every other field.
    (i.uuid ? `UUID: ${i.uuid}\n` : '') +
    '\n'
  );
}

/** `ls`: "name<TAB>(major:minor)". */
export function formatLs(devices: readonly WireDeviceSummary[]): string {
  return devices.length === 0 ? NO_DEVICES : devices.map((d) => `${d.name}\t(${d.major}:${d.minor})\n`).join('');
}

/** `deps`: "<n> dependencies<TAB>:" then " (<device>)" for each, prefixed "NAME: " when listing all. */
export function formatDeps(deps: readonly DeviceDeps[], prefixNames: boolean): string {
  if (prefixNames && deps.length === 0) return NO_DEVICES;
  return deps
    .map(
      (d) =>
        `${prefixNames ? `${d.name}: ` : ''}${d.devices.length} dependencies\t:${d.devices.map((dev) => ` (${dev})`).join('')}\n`,
    )
    .join('');
}

/** `targets`: "%-16s v%u.%u.%u". */
export function formatTargets(targets: readonly TargetVersion[]): string {
  return targets.map((t) => `${t.name.padEnd(16)} v${t.version}\n`).join('');
}

/** `version`: dmsetup's two lines; the library line names dmsim instead of libdevmapper. */
export function formatVersion(v: VersionInfo): string {
  return formatLibraryVersion(v.dmsim) + formatDriverVersion(v.driver);
}

/** dmsetup's first `version` line, which it prints before it asks the driver. */
export function formatLibraryVersion(dmsim: string): string {
  return `Library version:   dmsim ${dmsim}\n`;
}

/** dmsetup's second `version` line: the interface version the driver (the daemon) answers. */
export function formatDriverVersion(driver: string): string {
  return `Driver version:    ${driver}\n`;
}

/** `message`: the target's reply as dmsetup prints it (nothing when empty, one newline at the end). */
export function formatMessageReply(reply: string): string {
  if (reply === '') return '';
  return reply.endsWith('\n') ? reply : `${reply}\n`;
}
