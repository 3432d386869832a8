// dm-snapshot's module parameters (/sys/module/dm_snapshot/parameters in the kernel), shared by every
// snapshot of the process. Tests and the TUI may change them at run time, as root can on Linux.

export const snapshotParameters = {
  /**
   * snapshot_cow_threshold: writes to a snapshot or its origin wait while more than this many of the
   * snapshot's copies are in flight (dm-snap.c's wait_for_in_progress). Default 2048.
   */
  cowThreshold: 2048,
};
