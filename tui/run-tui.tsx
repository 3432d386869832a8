// `dmsim tui`: picks the session (embedded, demo, attached, a lesson), builds the store and the controller, and runs
// the Ink app until q (or a signal), then closes every device and removes the demo's files.

import { render } from 'ink';
import { InvalidArgumentError } from '../src/base/errors.js';
import { resolveSocketPath } from '../src/control/socket-path.js';
import { openTraceFile } from '../src/dm/trace-file.js';
import { loadScenario } from '../src/scenario/index.js';
import { DeviceMapper } from '../targets/device-mapper.js';
import { App } from './app.js';
import { colourWanted } from './components/theme.js';
import { TuiController } from './controller.js';
import { Demo } from './demo.js';
import { type LessonDriver, startLesson } from './lesson-driver.js';
import { attach, startEmbedded, type TuiSession } from './session.js';
import { realTimer, ViewStore } from './store/store.js';
import { initialState } from './store/view-state.js';

export interface TuiOptions {
  demo?: boolean;
  /** true: the default socket; a string: that socket. */
  attach?: boolean | string;
  fps?: number;
  /** Demo pace: 1 = the one-minute script, 0.5 = twice as fast. */
  pace?: number;
  /** A scenario file to play as a lesson (embedded engine). */
  scenario?: string;
  version?: string;
  /** `--trace FILE`: the embedded engine's events, as JSON lines or (FILE.json) a Chrome trace. */
  trace?: string;
}

/** The embedded engine: a DeviceMapper on the session's bus and kcopyd engine. */
function embeddedEngine(version: string | undefined, sharedPoolPages?: number): Promise<TuiSession> {
  return startEmbedded({
    version,
    ...(sharedPoolPages !== undefined ? { sharedPoolPages } : {}),
    makeEngine: (bus, kcopyd) => new DeviceMapper({ bus, kcopyd }),
  });
}

export async function runTui(options: TuiOptions): Promise<void> {
  if (options.demo && options.attach)
    throw new InvalidArgumentError('--demo builds its own devices; it cannot be combined with --attach');
  if (options.scenario !== undefined && (options.demo || options.attach)) {
    throw new InvalidArgumentError(
      '--scenario plays a lesson on its own embedded engine; it cannot be combined with --demo or --attach',
    );
  }
  const fps = options.fps ?? 10;
  if (!Number.isFinite(fps) || fps < 1 || fps > 60)
    throw new InvalidArgumentError(`--fps must be 1..60, not ${options.fps}`);
  // A lesson is read and checked first: a mistake in it is reported even without a terminal.
  const scenario = options.scenario !== undefined ? await loadScenario(options.scenario) : undefined;
  if (options.trace !== undefined && options.attach)
    throw new InvalidArgumentError('--trace traces the embedded engine: when attached, start the daemon with --trace');
  if (!process.stdin.isTTY || !process.stdout.isTTY) {
    throw new InvalidArgumentError('dmsim tui needs a terminal (stdin and stdout must be a TTY)');
  }
  const store = new ViewStore({ state: initialState(Date.now()), maxFps: fps, timer: realTimer });
  let controller: TuiController;
  let lesson: LessonDriver | undefined;
  if (scenario) {
    ({ controller, lesson } = await startLesson(
      scenario,
      store,
      options.version !== undefined ? { version: options.version } : {},
    ));
  } else {
    const session = options.attach
      ? await attach(resolveSocketPath(typeof options.attach === 'string' ? options.attach : undefined))
      : // The demo limits the shared pages so the clients' reserves are used and the page gauges move.
        await embeddedEngine(options.version, options.demo ? 256 : undefined);
    const mode = options.demo ? 'demo' : options.attach ? `attached to ${session.client.socketPath}` : 'embedded';
    controller = new TuiController(session, store, mode);
    try {
      await controller.start();
      if (options.demo) await Demo.start(controller, { timer: realTimer, pace: options.pace ?? 1 });
    } catch (e) {
      await controller.quit();
      throw e;
    }
  }
  const bus = controller.session.bus;
  if (options.trace !== undefined && bus) {
    const trace = openTraceFile(bus, options.trace);
    controller.onQuit(() => trace.close());
  }
  const app = render(
    <App store={store} actions={controller} lesson={lesson} colour={colourWanted(process.env, process.stdout)} />,
    {
      exitOnCtrlC: false,
      maxFps: fps,
      patchConsole: true,
    },
  );
  const onSignal = (): void => {
    void controller.quit().finally(() => app.unmount());
  };
  // A signal quits as q does: devices closed, the demo's files removed (a closed terminal cannot be drawn on).
  process.stdout.on('error', () => undefined);
  const signals = ['SIGTERM', 'SIGHUP', 'SIGINT'] as const;
  for (const sig of signals) process.once(sig, onSignal);
  try {
    await app.waitUntilExit();
    await controller.quit();
  } finally {
    for (const sig of signals) process.off(sig, onSignal);
  }
}
