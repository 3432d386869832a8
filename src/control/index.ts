// `dmsim/control`: a daemon from code (in this process or as a child) and the client that talks to one —
// what a test of a tool that drives `dmsetup` against a daemon needs.
//
//   import { spawnDaemon, ControlClient } from 'dmsim/control';
//   const daemon = await spawnDaemon({ socketPath: '/tmp/t/control', statePath: '/tmp/t/state.json' });
//   const client = await ControlClient.connect(daemon.socketPath);
//   await client.request('create', { name: 'lin', table: '0 2048 zero' });
//   client.close();
//   await daemon.stop();

export { ControlClient, NoDaemonError } from './client.js';
export type { ChildDaemon, ChildDaemonOptions, InProcessDaemon } from './launch.js';
export { spawnDaemon, startDaemon } from './launch.js';
export { defaultSocketPath } from './socket-path.js';
