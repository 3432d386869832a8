// NBD exports in the TUI, through the real engine path: an embedded DeviceMapper behind its private control
// daemon (and a separate daemon the TUI attaches to). `export` and `unexport` typed on the command line; the
// devices panel's export line under the device must say what `ls --json` says (address, read-only, clients);
// raw NBD clients (fixed-newstyle handshake written here byte by byte from proto.md) move the client count;
// `unexport` removes the line. Waits are on engine events, never on time.

import { mkdtemp, rm } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { render } from 'ink-testing-library';
import { afterEach, describe, expect, it } from 'vitest';
import { type DmEvent, EventBus } from '../../src/base/events.js';
import { ControlClient } from '../../src/control/client.js';
import { ControlDaemon } from '../../src/control/daemon.js';
import { DeviceMapper } from '../../targets/device-mapper.js';
import { App } from '../../tui/app.js';
import { parseCommand } from '../../tui/command/parse-command.js';
import { DevicesPanel } from '../../tui/components/devices-panel.js';
import { TuiController } from '../../tui/controller.js';
import { attach, startEmbedded, type TuiSession } from '../../tui/session.js';
import type { EngineEvent } from '../../tui/store/engine-event.js';
import { reduceAll } from '../../tui/store/reduce.js';
import { ViewStore } from '../../tui/store/store.js';
import { initialState } from '../../tui/store/view-state.js';
import { deviceEvent, tick } from './frame-helpers.js';

const manualTimer = { setTimer: () => () => undefined };
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const SECTORS = 2048;

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dmsim-tui-exp-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function withController(session: TuiSession) {
  const store = new ViewStore({ state: initialState(0), timer: manualTimer });
  const controller = new TuiController(session, store);
  await controller.start();
  cleanups.push(() => controller.quit());
  return {
    store,
    controller,
    state: () => {
      store.flush();
      return store.getSnapshot();
    },
  };
}

async function embedded() {
  const session = await startEmbedded({ makeEngine: (bus, kcopyd) => new DeviceMapper({ bus, kcopyd }) });
  const dir = await tempDir();
  const c = await withController(session);
  await c.controller.run(`mkimg ${dir}/base.img ${SECTORS}s`);
  await c.controller.run(`create base 0 ${SECTORS} linear ${dir}/base.img 0`);
  return { session, dir, ...c };
}

/** Resolves at the next event on the bus that matches. */
function nextEvent(bus: EventBus, match: (e: DmEvent) => boolean): Promise<DmEvent> {
  return new Promise((resolve) => {
    const off = bus.on((e) => {
      if (match(e)) {
        off();
        resolve(e);
      }
    });
  });
}

const clientEvent = (action: 'connected' | 'disconnected') => (e: DmEvent) =>
  e.type === 'nbd.client' && e.action === action;

/** Reads exactly n bytes from a socket. */
function readBytes(socket: Socket, n: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    let got = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      got = Buffer.concat([got, d]);
      if (got.length >= n) {
        socket.off('data', onData);
        socket.off('error', reject);
        if (got.length > n) socket.unshift(got.subarray(n));
        resolve(got.subarray(0, n));
      }
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
}

/**
 * A raw NBD client (proto.md, fixed newstyle): reads the greeting, sends client flags FIXED_NEWSTYLE|NO_ZEROES
 * and NBD_OPT_EXPORT_NAME, and returns once the export's size and flags came back (transmission phase).
 */
async function nbdClient(port: number, name: string): Promise<{ socket: Socket; sizeBytes: bigint }> {
  const socket = connect({ host: '127.0.0.1', port });
  cleanups.push(() => void socket.destroy());
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  const greeting = readBytes(socket, 18);
  const g = await greeting;
  expect(g.subarray(0, 16).toString('latin1')).toBe('NBDMAGICIHAVEOPT');
  const reply = readBytes(socket, 10); // size u64 + transmission flags u16, no zero padding (NO_ZEROES)
  const opt = Buffer.alloc(4 + 16 + name.length);
  opt.writeUInt32BE(0b11, 0); // NBD_FLAG_C_FIXED_NEWSTYLE | NBD_FLAG_C_NO_ZEROES
  opt.write('IHAVEOPT', 4, 'latin1');
  opt.writeUInt32BE(1, 12); // NBD_OPT_EXPORT_NAME
  opt.writeUInt32BE(name.length, 16);
  opt.write(name, 20, 'latin1');
  socket.write(opt);
  const r = await reply;
  socket.resume(); // nothing more is read: let the stream flow so the server's close reaches 'close'
  return { socket, sizeBytes: r.readBigUInt64BE(0) };
}

/** NBD_CMD_DISC: the client says goodbye; the server closes the connection. */
function disconnect(socket: Socket): void {
  const req = Buffer.alloc(28);
  req.writeUInt32BE(0x25609513, 0); // NBD_REQUEST_MAGIC
  req.writeUInt16BE(2, 6); // NBD_CMD_DISC
  socket.end(req);
}

/** Waits (event-loop turns, which let socket I/O and the command's reply through; no clock) for a frame. */
async function frameUntil(lastFrame: () => string | undefined, ok: (f: string) => boolean): Promise<string> {
  for (let i = 0; i < 5000; i++) {
    const f = lastFrame() ?? '';
    if (ok(f)) return f;
    await tick();
  }
  throw new Error(`frame never matched; last frame:\n${lastFrame()}`);
}

/** The devices panel column of the 80x24 frame (the left half, 40 columns). */
const leftColumn = (frame: string): string[] => frame.split('\n').map((l) => l.slice(0, 40).trimEnd());

describe('exports in the TUI (embedded engine)', () => {
  it('export on the command line marks the device with what ls --json says; raw NBD clients move the count; unexport removes it', async () => {
    const { session, controller, store, state } = await embedded();
    const bus = session.bus!;
    const r = render(<App store={store} actions={controller} colour={false} cols={80} rows={24} />);
    cleanups.push(() => r.unmount());
    await tick(); // useInput subscribes in an effect

    r.stdin.write(':export base --listen tcp:127.0.0.1:0 --read-only\r');
    const exported = await nextEvent(bus, (e) => e.type === 'nbd.export');
    await controller.refresh('base');
    store.flush();
    // What `dmsim ls --json` shows is the reference for the screen.
    const ls = (await session.client.request('ls', {})).find((d) => d.name === 'base')!.export!;
    expect(ls).toMatchObject({ readOnly: true, clients: 0 });
    expect(exported).toMatchObject({
      device: 'base',
      action: 'exported',
      listen: ls.listen,
      uri: ls.uri,
      readOnly: true,
      clients: 0,
    });
    const port = Number(/^tcp:127\.0\.0\.1:(\d+)$/.exec(ls.listen)![1]);
    expect(ls.uri).toBe(`nbd://127.0.0.1:${port}/base`);

    let frame = await frameUntil(
      r.lastFrame,
      (f) => f.includes('nbd 0 clients') && f.includes('exported base read-only:'),
    );
    let left = leftColumn(frame);
    const row = left.findIndex((l) => /^.base +linear/.test(l));
    expect(left[row + 1]).toBe(`  nbd 0 clients ro tcp:127.0.0.1:${port}`);
    expect(frame).toContain(`exported base read-only: nbd://127.0.0.1:${port}/base`); // the command's answer
    for (const l of frame.split('\n')) expect(l.length).toBeLessThanOrEqual(80);
    expect(frame.split('\n').length).toBeLessThanOrEqual(23);

    // Two clients in the transmission phase: the export is the device (2048 sectors of 512 bytes).
    const one = nextEvent(bus, clientEvent('connected'));
    const a = await nbdClient(port, 'base');
    await one;
    const two = nextEvent(bus, clientEvent('connected'));
    const b = await nbdClient(port, 'base');
    await two;
    expect(a.sizeBytes).toBe(BigInt(SECTORS * 512));
    await controller.refresh('base');
    store.flush();
    frame = await frameUntil(r.lastFrame, (f) => f.includes('nbd 2 clients'));
    expect(leftColumn(frame)[row + 1]).toBe(`  nbd 2 clients ro tcp:127.0.0.1:${port}`);
    expect((await session.client.request('ls', {}))[0]!.export!.clients).toBe(2);

    const gone = nextEvent(bus, clientEvent('disconnected'));
    disconnect(a.socket);
    expect(await gone).toMatchObject({ device: 'base', clients: 1 });
    await controller.refresh('base');
    store.flush();
    frame = await frameUntil(r.lastFrame, (f) => f.includes('nbd 1 client '));
    expect(leftColumn(frame)[row + 1]).toBe(`  nbd 1 client ro tcp:127.0.0.1:${port}`);
    expect(state().log.entries.map((e) => e.text)).toContain('NBD client disconnected');

    // unexport with b still connected: b is dropped, the line goes, the device stays.
    const bClosed = new Promise<void>((resolve) => b.socket.once('close', () => resolve()));
    r.stdin.write('unexport base\r'); // the command line still has the focus
    await nextEvent(bus, (e) => e.type === 'nbd.export' && e.action === 'unexported');
    await bClosed;
    await controller.refresh('base');
    store.flush();
    const noExportLine = (f: string): boolean => !leftColumn(f).some((l) => /^ +nbd \d/.test(l));
    frame = await frameUntil(r.lastFrame, (f) => f.includes('unexported base') && noExportLine(f));
    left = leftColumn(frame);
    expect(left.some((l) => /^.base +linear/.test(l))).toBe(true);
    expect(state().devices.get('base')!.export).toBeUndefined();
    expect((await session.client.request('ls', {}))[0]!.export).toBeUndefined();
  });

  it('the default address is a unix socket beside the private control socket; a wide panel shows the URI', async () => {
    const { session, controller, state } = await embedded();
    expect(await controller.run('export base')).toMatch(/^exported base: nbd\+unix:\/\/\/base\?socket=/);
    const socket = `${dirname(session.client.socketPath)}/control.sock.nbd`;
    const view = state().devices.get('base')!.export!;
    expect(view).toEqual({
      listen: `unix:${socket}`,
      uri: `nbd+unix:///base?socket=${socket}`,
      readOnly: false,
      clients: 0,
    });
    const wide = render(<DevicesPanel state={state()} selected="base" focused={false} width={120} height={5} />);
    expect(wide.lastFrame()).toContain(`  nbd 0 clients nbd+unix:///base?socket=${socket}`);
    wide.unmount();
    // At 40 columns the URI does not fit: the address keeps its start and the socket's file name.
    const narrow = render(<DevicesPanel state={state()} selected="base" focused={false} width={40} height={5} />);
    const line = narrow.lastFrame()!.split('\n')[2]!;
    expect(line.length).toBeLessThanOrEqual(40);
    expect(line).toMatch(/^ {2}nbd 0 clients unix:\/\S*~\S*\.sock\.nbd$/);
    narrow.unmount();
  });

  it('refusals: usage errors before anything runs, the engine reason after', async () => {
    const { controller } = await embedded();
    expect(() => parseCommand('export')).toThrow('export: missing NAME; usage: export NAME');
    expect(() => parseCommand('export base --listen')).toThrow("export: option '--listen <address>' argument missing");
    expect(() => parseCommand('export base extra')).toThrow("export: unexpected 'extra'");
    expect(() => parseCommand('unexport')).toThrow('unexport: missing NAME');
    expect(parseCommand('export base --listen=tcp:127.0.0.1:0 --read-only')).toEqual({
      verb: 'export',
      args: { name: 'base', listen: 'tcp:127.0.0.1:0', readOnly: true },
    });
    await expect(controller.run('unexport base')).rejects.toMatchObject({
      code: 'ENXIO',
      message: 'base: not exported',
    });
    await expect(controller.run('export base --listen ftp:somewhere')).rejects.toMatchObject({ code: 'EINVAL' });
    await controller.run('export base --listen tcp:127.0.0.1:0');
    await expect(controller.run('export base')).rejects.toMatchObject({ code: 'EEXIST' });
    await expect(controller.run('remove base')).rejects.toThrow(/busy.*unexport base/);
  });
});

describe('exports in the TUI (attached to a daemon)', () => {
  it('a device exported before attaching shows at start; unexport from the TUI removes it', async () => {
    const dir = await tempDir();
    const bus = new EventBus();
    const daemon = new ControlDaemon({ engine: new DeviceMapper({ bus }), bus, version: 'test' });
    await daemon.listen(join(dir, 'ctl.sock'));
    cleanups.push(() => daemon.close());
    const admin = await ControlClient.connect(join(dir, 'ctl.sock'));
    cleanups.push(() => admin.close());
    await admin.request('create', { name: 'z', table: `0 ${SECTORS} zero` });
    const exp = await admin.request('export', { name: 'z', listen: 'tcp:127.0.0.1:0' });

    const session = await attach(join(dir, 'ctl.sock'));
    const { controller, state } = await withController(session);
    expect(state().devices.get('z')!.export).toEqual({ listen: exp.listen, uri: exp.uri, readOnly: false, clients: 0 });
    const panel = render(<DevicesPanel state={state()} selected="z" focused={false} width={40} height={5} />);
    // A short name's URI fits in 40 columns, so the line shows it (not the bare address).
    expect(panel.lastFrame()!.split('\n')[2]).toBe(`  nbd 0 clients ${exp.uri}`);
    expect(exp.uri).toMatch(/^nbd:\/\/127\.0\.0\.1:\d+\/z$/);
    panel.unmount();

    expect(await controller.run('unexport z')).toBe('unexported z');
    expect(state().devices.get('z')!.export).toBeUndefined();
    expect(state().devices.has('z')).toBe(true);
  });
});

describe('exports in the store and the panel (recorded events)', () => {
  const ev = (type: string, fields: Record<string, unknown>): EngineEvent =>
    ({ type, seq: 1, time: 0, ...fields }) as EngineEvent;
  const exported = (device: string, port: number) =>
    ev('nbd.export', {
      device,
      action: 'exported',
      listen: `tcp:127.0.0.1:${port}`,
      uri: `nbd://127.0.0.1:${port}/${device}`,
      readOnly: false,
      clients: 0,
    });

  it('a snapshot without an export clears it; a malformed one is ignored; events about unknown devices only log', () => {
    const s = reduceAll(initialState(0), [
      deviceEvent('a', '0 8 zero', '0 8 zero '),
      exported('a', 1),
      ev('nbd.client', { device: 'a', action: 'connected', clients: 3 }),
      ev('nbd.client', { device: 'ghost', action: 'connected', clients: 1 }),
    ]);
    expect(s.devices.get('a')!.export).toEqual({
      listen: 'tcp:127.0.0.1:1',
      uri: 'nbd://127.0.0.1:1/a',
      readOnly: false,
      clients: 3,
    });
    expect(s.devices.has('ghost')).toBe(false);
    expect(s.log.entries.map((e) => `${e.device}: ${e.text}`)).toContain('ghost: NBD client connected');
    const bad = reduceAll(s, [{ ...deviceEvent('a', '0 8 zero', '0 8 zero '), export: { uri: 7 } } as EngineEvent]);
    expect(bad.devices.get('a')!.export).toBeUndefined();
  });

  it('scrolling keeps the selected device together with its export line', () => {
    const s = reduceAll(
      initialState(0),
      ['a', 'b', 'c'].flatMap((n, i) => [deviceEvent(n, '0 8 zero', '0 8 zero '), exported(n, i + 1)]),
    );
    const { lastFrame, unmount } = render(
      <DevicesPanel state={s} selected="c" focused={false} width={40} height={4} />,
    );
    const f = lastFrame()!.split('\n');
    // Six lines for three devices; three fit: the tail of b, then c and its export line.
    expect(f[0]).toContain('Devices (3, 2 above, 0 below)');
    expect(f.slice(1).map((l) => l.trimEnd())).toEqual([
      '  nbd 0 clients nbd://127.0.0.1:2/b',
      expect.stringMatching(/^>c +zero/),
      '  nbd 0 clients nbd://127.0.0.1:3/c',
    ]);
    unmount();
  });
});
