// The NBD exports' events on the bus (augmenting DmEventMap): an export offered or withdrawn, and a client
// entering or leaving the transmission phase, so the TUI can mark exported devices and count their clients.
// nbd-server and the kernel report none of these.

/** `dmsim export` / `dmsim unexport`: the export's address as `ls --json` shows it (clients 0 once withdrawn). */
interface NbdExportEvent {
  device: string;
  action: 'exported' | 'unexported';
  listen: string;
  uri: string;
  readOnly: boolean;
  clients: number;
}

/** A connection finished the handshake on an export, or its session ended; `clients` counts them after it. */
interface NbdClientEvent {
  device: string;
  action: 'connected' | 'disconnected';
  clients: number;
}

declare module '../base/events.js' {
  interface DmEventMap {
    'nbd.export': NbdExportEvent;
    'nbd.client': NbdClientEvent;
  }
}

export {};
