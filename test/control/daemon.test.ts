// The daemon over a real Unix socket with a fake engine: bad input gets an error reply or a closed
// connection, never a crash; other clients carry on; socket permissions; stale and live sockets.

import { spawn } from 'node:child_process';
import { chmod, chown, lstat, mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type DmEvent, EventBus } from '../../src/base/events.js';
import { ControlClient, NoDaemonError } from '../../src/control/client.js';
import { ControlDaemon } from '../../src/control/daemon.js';
import { MAX_LINE_BYTES } from '../../src/control/protocol.js';
import { FakeEngine } from './fake-engine.js';

/** A raw connection that sends text and reads reply lines. */
class Raw {
  private buffered = '';
  private readonly lines: string[] = [];
  private waiting: (() => void) | null = null;
  closed = false;
  constructor(readonly socket: Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buffered += d;
      for (let nl = this.buffered.indexOf('\n'); nl !== -1; nl = this.buffered.indexOf('\n')) {
        this.lines.push(this.buffered.slice(0, nl));
        this.buffered = this.buffered.slice(nl + 1);
      }
      this.waiting?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.waiting?.();
    });
    socket.on('error', () => {});
  }
  static open(path: string): Promise<Raw> {
    return new Promise((resolve, reject) => {
      const s = connect(path, () => resolve(new Raw(s)));
      s.once('error', reject);
    });
  }
  send(text: string): void {
    this.socket.write(text);
  }
  async reply(): Promise<Record<string, unknown>> {
    while (this.lines.length === 0) {
      if (this.closed) throw new Error('connection closed before a reply');
      await new Promise<void>((r) => (this.waiting = r));
    }
    return JSON.parse(this.lines.shift() as string) as Record<string, unknown>;
  }
  async untilClosed(): Promise<void> {
    while (!this.closed) await new Promise<void>((r) => (this.waiting = r));
  }
}

let dir: string;
let socketPath: string;
let engine: FakeEngine;
let bus: EventBus;
let daemon: ControlDaemon;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'dmsim-daemon-'));
  socketPath = join(dir, 'run', 'control');
  engine = new FakeEngine();
  bus = new EventBus();
  daemon = new ControlDaemon({ engine, bus, version: 'test' });
  await daemon.listen(socketPath);
});

afterEach(async () => {
  await daemon.close();
  await rm(dir, { recursive: true, force: true });
});

async function liveClientWorks(): Promise<void> {
  const c = await ControlClient.connect(socketPath);
  await c.request('create', { name: `ok${Math.random().toString(36).slice(2)}`, table: '0 64 fake' });
  c.close();
}

describe('daemon: bad input', () => {
  it('answers garbage JSON with an EINVAL reply (id null) and keeps the connection usable', async () => {
    const raw = await Raw.open(socketPath);
    raw.send('{this is not json\n');
    const r = await raw.reply();
    expect(r).toMatchObject({ id: null, ok: false, error: { code: 'EINVAL' } });
    expect((r.error as { message: string }).message).toMatch(/not JSON/);
    raw.send(`${JSON.stringify({ id: 2, verb: 'ls', args: {} })}\n`);
    expect(await raw.reply()).toEqual({ id: 2, ok: true, result: [] });
    raw.socket.destroy();
  });

  it('answers an unknown verb with its id and the list of verbs', async () => {
    const raw = await Raw.open(socketPath);
    raw.send(`${JSON.stringify({ id: 9, verb: 'frobnicate', args: {} })}\n`);
    const r = await raw.reply();
    expect(r).toMatchObject({ id: 9, ok: false, error: { code: 'EINVAL' } });
    expect((r.error as { message: string }).message).toMatch(/unknown verb "frobnicate".*create/);
    raw.socket.destroy();
  });

  it('refuses wrong argument types and unknown arguments naming them', async () => {
    const raw = await Raw.open(socketPath);
    raw.send(`${JSON.stringify({ id: 1, verb: 'read', args: { name: 'x', sector: -1, count: 1 } })}\n`);
    expect(await raw.reply()).toMatchObject({
      id: 1,
      ok: false,
      error: { code: 'EINVAL', message: expect.stringMatching(/'sector'/) },
    });
    raw.send(`${JSON.stringify({ id: 2, verb: 'create', args: { name: 'x', table: '', colour: 'red' } })}\n`);
    expect(await raw.reply()).toMatchObject({
      id: 2,
      ok: false,
      error: { message: expect.stringMatching(/unknown argument 'colour'/) },
    });
    raw.send(`${JSON.stringify({ id: 3, verb: 'remove', args: {} })}\n`);
    expect(await raw.reply()).toMatchObject({
      id: 3,
      ok: false,
      error: { message: expect.stringMatching(/missing argument 'name'/) },
    });
    raw.socket.destroy();
  });

  it('closes a connection that sends a line longer than the limit, and serves others', async () => {
    const raw = await Raw.open(socketPath);
    const chunk = 'x'.repeat(1024 * 1024);
    for (let sent = 0; sent <= MAX_LINE_BYTES && !raw.closed; sent += chunk.length) raw.send(chunk);
    const r = await raw.reply();
    expect(r).toMatchObject({
      id: null,
      ok: false,
      error: { code: 'EINVAL', message: expect.stringMatching(/longer than/) },
    });
    await raw.untilClosed();
    await liveClientWorks();
  });

  it('survives a client that disconnects mid-request (half a line, and before its reply)', async () => {
    const half = await Raw.open(socketPath);
    half.send('{"id": 1, "verb": "cre');
    half.socket.destroy();
    const gone = await Raw.open(socketPath);
    gone.send(`${JSON.stringify({ id: 1, verb: 'create', args: { name: 'g', table: '0 64 fake' } })}\n`);
    gone.send(`${JSON.stringify({ id: 2, verb: 'read', args: { name: 'g', sector: 0, count: 64 } })}\n`);
    gone.socket.destroy();
    await liveClientWorks();
    // The request that arrived whole was carried out even though nobody was left to hear the answer.
    const c = await ControlClient.connect(socketPath);
    expect((await c.request('ls', {})).map((d) => d.name)).toContain('g');
    c.close();
  });

  it('turns an engine error into a reply with the DmError code and message', async () => {
    const c = await ControlClient.connect(socketPath);
    await expect(c.request('remove', { name: 'nosuch' })).rejects.toMatchObject({
      code: 'ENXIO',
      message: 'nosuch: no such device',
    });
    c.close();
  });
});

describe('daemon: clients', () => {
  it('serves two clients at once; a blocked wait on one does not hold up the other', async () => {
    const a = await ControlClient.connect(socketPath);
    const b = await ControlClient.connect(socketPath);
    await a.request('create', { name: 'dev', table: '0 64 fake' });
    const waited = a.request('wait', { name: 'dev' });
    // While a waits, b works, and so does a's own connection.
    await b.request('write', { name: 'dev', sector: 1, data: Buffer.alloc(512, 0xab).toString('base64') });
    expect(Buffer.from((await a.request('read', { name: 'dev', sector: 1, count: 1 })).data, 'base64')).toEqual(
      Buffer.alloc(512, 0xab),
    );
    engine.bump('dev');
    expect(await waited).toBe(1);
    a.close();
    b.close();
  });

  it('moves more than one request worth of data by splitting it', async () => {
    engine.create('big', '0 64 fake');
    engine.byName.get('big')!.data = Buffer.alloc(20000 * 512);
    const c = await ControlClient.connect(socketPath);
    const data = Buffer.alloc(17000 * 512);
    for (let i = 0; i < data.length; i += 512) data[i] = (i / 512) & 0xff;
    await c.write('big', 100, data);
    expect((await c.read('big', 100, 17000)).equals(data)).toBe(true);
    c.close();
  });

  it('streams bus events to an events subscriber', async () => {
    const c = await ControlClient.connect(socketPath);
    const got: DmEvent[] = [];
    let arrived!: () => void;
    const seen = new Promise<void>((r) => (arrived = r));
    await c.events((e) => {
      got.push(e);
      arrived();
    });
    const other = await ControlClient.connect(socketPath);
    bus.emit('io.error', { device: 'd', op: 'read', sector: 8, count: 1, code: 'EIO', message: 'boom' });
    await seen;
    expect(got).toEqual([expect.objectContaining({ type: 'io.error', device: 'd', sector: 8, message: 'boom' })]);
    // The stream does not get in the way of requests on other connections.
    expect(await other.request('ls', {})).toEqual([]);
    c.close();
    other.close();
  });

  it('streams only the events about one device when asked, and kcopyd builds no job event for that stream', async () => {
    const c = await ControlClient.connect(socketPath);
    const got: DmEvent[] = [];
    let arrived!: () => void;
    const seen = new Promise<void>((r) => (arrived = r));
    await c.events(
      (e) => {
        got.push(e);
        if (e.type === 'dm.resumed') arrived();
      },
      undefined,
      { device: 'd' },
    );
    expect([bus.wants('kcopyd.job'), bus.wants('kcopyd.io-error'), bus.wants('io.error')]).toEqual([false, true, true]);
    bus.emit('io.error', { device: 'other', op: 'read', sector: 8, count: 1, code: 'EIO', message: 'not d' });
    bus.emit('io.error', { device: 'd', op: 'read', sector: 9, count: 1, code: 'EIO', message: 'about d' });
    bus.emit('dm.resumed', { device: 'd' });
    await seen;
    expect(got.map((e) => [e.type, 'device' in e ? e.device : null])).toEqual([
      ['io.error', 'd'],
      ['dm.resumed', 'd'],
    ]);
    c.close();
  });

  it('drops a malformed event where it comes off the socket, counts it and says why', async () => {
    const c = await ControlClient.connect(socketPath);
    const got: DmEvent[] = [];
    const dropped: string[] = [];
    let arrived!: () => void;
    const seen = new Promise<void>((r) => (arrived = r));
    await c.events(
      (e) => {
        got.push(e);
        arrived();
      },
      (reason) => dropped.push(reason),
    );
    // A daemon of another version, or a module that emits a field of the wrong type: sector is not a number.
    bus.emit('io.error', { device: 'd', op: 'read', sector: '8', count: 1, code: 'EIO', message: 'x' } as never);
    bus.emit('dm.resumed', {} as never);
    bus.emit('dm.resumed', { device: 'd' });
    await seen;
    expect(got).toEqual([expect.objectContaining({ type: 'dm.resumed', device: 'd' })]);
    expect(c.droppedEvents).toBe(2);
    expect(dropped).toEqual([
      `malformed io.error event: field 'sector' must be a number, not "8"`,
      `malformed dm.resumed event: field 'device' is missing`,
    ]);
    c.close();
  });
});

describe('daemon: the socket', () => {
  it('is 0600 in a 0700 directory', async () => {
    expect((await stat(socketPath)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'run'))).mode & 0o777).toBe(0o700);
  });

  it('makes the default directory private: looser modes tightened, a directory of another user refused', async () => {
    const runtime = join(dir, 'xdg');
    await mkdir(join(runtime, 'dmsim'), { recursive: true, mode: 0o755 });
    await chmod(join(runtime, 'dmsim'), 0o755);
    const saved = process.env.XDG_RUNTIME_DIR;
    process.env.XDG_RUNTIME_DIR = runtime;
    try {
      const own = new ControlDaemon({ engine: new FakeEngine(), bus, version: 'test' });
      await own.listen(join(runtime, 'dmsim', 'control'));
      expect((await stat(join(runtime, 'dmsim'))).mode & 0o777).toBe(0o700);
      await own.close();
      if (process.getuid?.() === 0) {
        await chown(join(runtime, 'dmsim'), 65534, 65534);
        const other = new ControlDaemon({ engine: new FakeEngine(), bus, version: 'test' });
        await expect(other.listen(join(runtime, 'dmsim', 'control'))).rejects.toMatchObject({
          code: 'EPERM',
          message: expect.stringContaining('owned by uid 65534'),
        });
      }
    } finally {
      if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
      else process.env.XDG_RUNTIME_DIR = saved;
    }
  });

  it('refuses to start over a live daemon, and the live one carries on', async () => {
    const second = new ControlDaemon({ engine: new FakeEngine(), bus, version: 'test' });
    await expect(second.listen(socketPath)).rejects.toThrow(`a daemon is already running at ${socketPath}`);
    await liveClientWorks();
  });

  it('replaces a stale socket nobody answers on', async () => {
    const stalePath = join(dir, 'stale');
    // A daemon killed with SIGKILL leaves its socket file behind with nobody listening.
    const child = spawn(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(stalePath)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    await new Promise((r) => child.once('exit', r));
    expect((await lstat(stalePath)).isSocket()).toBe(true);
    await expect(ControlClient.connect(stalePath)).rejects.toBeInstanceOf(NoDaemonError);
    const revived = new ControlDaemon({ engine: new FakeEngine(), bus, version: 'test' });
    await revived.listen(stalePath);
    const c = await ControlClient.connect(stalePath);
    expect(await c.request('version', {})).toEqual({ dmsim: 'test', driver: '4.47.0' });
    c.close();
    await revived.close();
  });

  it('refuses a path that is not a socket', async () => {
    const file = join(dir, 'plain');
    await writeFile(file, 'x');
    const d = new ControlDaemon({ engine: new FakeEngine(), bus, version: 'test' });
    await expect(d.listen(file)).rejects.toMatchObject({
      code: 'EEXIST',
      message: expect.stringMatching(/is not a socket/),
    });
  });

  it('a client finds no daemon: one NoDaemonError that says how to start one', async () => {
    await expect(ControlClient.connect(join(dir, 'nobody'))).rejects.toBeInstanceOf(NoDaemonError);
    await expect(ControlClient.connect(join(dir, 'nobody'))).rejects.toThrow(
      /no dmsim daemon at .*nobody \(start one with: dmsim daemon --detach\)/,
    );
  });

  it('close() closes the engine and removes the socket', async () => {
    await daemon.close();
    expect(engine.closed).toBe(true);
    await expect(stat(socketPath)).rejects.toMatchObject({ code: 'ENOENT' });
    daemon = new ControlDaemon({ engine: new FakeEngine(), bus, version: 'test' });
    await daemon.listen(socketPath);
  });
});

describe('daemon: half-closed clients', () => {
  it('answers a client that sent its request and closed its side at once (nc -U style)', async () => {
    const raw = await Raw.open(socketPath);
    raw.socket.end(`${JSON.stringify({ id: 5, verb: 'version', args: {} })}\n`);
    expect(await raw.reply()).toEqual({ id: 5, ok: true, result: { dmsim: 'test', driver: '4.47.0' } });
    await raw.untilClosed();
  });
});
