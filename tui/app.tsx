// The Ink app: header, devices | kcopyd, map | throughput, errors and events, a lesson's narration (scenario
// mode), command line. Keys act on the
// panels unless the command line has the focus, where every key is text. The screen is drawn from the
// store's published state only (at most maxFps frames a second).

import { Box, type Key, useApp, useInput, useStdout } from 'ink';
import { useCallback, useEffect, useReducer, useRef, useState, useSyncExternalStore } from 'react';
import type { InspectedTarget } from '../src/dm/device-mapper-core.js';
import { CommandLine, type Message } from './components/command-line.js';
import { DevicesPanel } from './components/devices-panel.js';
import { EventPanel } from './components/event-panel.js';
import { Header } from './components/header.js';
import { HelpPanel } from './components/help-panel.js';
import { InspectorPanel } from './components/inspector-panel.js';
import { KcopydPanel } from './components/kcopyd-panel.js';
import { LogPanel } from './components/log-panel.js';
import { MapPanel } from './components/map-panel.js';
import { NarrationPanel, narrationRows } from './components/narration-panel.js';
import { ColourContext } from './components/theme.js';
import { ThroughputPanel } from './components/throughput-panel.js';
import { inspectTarget } from './inspect-key.js';
import { layout } from './layout.js';
import type { LessonActions, LessonView } from './lesson-driver.js';
import { deviceTree } from './store/devices.js';
import { findEntry } from './store/event-log.js';
import type { ViewStore } from './store/store.js';

/** What the screen can ask of the engine (TuiController implements it). */
export interface AppActions {
  readonly modeName: string;
  /** False when kcopyd runs in another process (attached to a daemon): p and s are refused. */
  readonly canPause: boolean;
  run(line: string): Promise<string>;
  togglePause(): string;
  /** `dmsim inspect NAME` for the inspector (i); absent: no engine to ask. */
  inspect?(name: string): Promise<InspectedTarget[]>;
  step(): string;
  quit(): Promise<void>;
}

type Focus = 'devices' | 'kcopyd' | 'log' | 'command';
const FOCUS_ORDER: Focus[] = ['devices', 'kcopyd', 'log', 'command'];

interface UiState {
  focus: Focus;
  selected: string | undefined;
  logScroll: number;
  help: boolean;
  text: string;
  history: string[];
  historyAt: number | null;
  /** The device the inspector shows (null: closed), and how far it is scrolled. */
  inspect: string | null;
  inspectScroll: number;
}

export interface AppProps {
  store: ViewStore;
  actions: AppActions;
  colour: boolean;
  /** Fixed size (tests); otherwise the terminal's, following resizes. */
  cols?: number;
  rows?: number;
  /** Lines of output a command may add to the events panel. */
  outputLines?: number;
  /** Scenario mode: the lesson's narration is shown, n plays the next step and s steps inside it. */
  lesson?: LessonActions;
}

const noLesson = (): (() => void) => () => undefined;
const noView = (): LessonView | null => null;

function useTerminalSize(cols?: number, rows?: number): [number, number] {
  const { stdout } = useStdout();
  const read = (): [number, number] => [cols ?? stdout.columns ?? 80, rows ?? stdout.rows ?? 24];
  const [size, setSize] = useState(read);
  useEffect(() => {
    if (cols !== undefined && rows !== undefined) return;
    const onResize = (): void => setSize(read());
    stdout.on('resize', onResize);
    return () => {
      stdout.off('resize', onResize);
    };
  });
  return size;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function App({ store, actions, colour, cols, rows, outputLines = 20, lesson }: AppProps) {
  const state = useSyncExternalStore(store.subscribe, store.getSnapshot);
  const lessonView = useSyncExternalStore<LessonView | null>(
    lesson?.subscribe ?? noLesson,
    lesson?.getSnapshot ?? noView,
  );
  const [width, height] = useTerminalSize(cols, rows);
  const { exit } = useApp();
  // The keyboard state lives in a ref, read and written synchronously by the input handler: keys typed
  // faster than React re-renders (a ':' and the command right after it) must see the focus they changed.
  const ui = useRef<UiState>({
    focus: 'devices',
    selected: undefined,
    logScroll: 0,
    help: false,
    text: '',
    history: [],
    historyAt: null,
    inspect: null,
    inspectScroll: 0,
  });
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const [message, setMessage] = useState<Message | null>(null);
  const update = (change: Partial<UiState>): void => {
    ui.current = { ...ui.current, ...change };
    redraw();
  };

  const rowsInTree = deviceTree(state.devices).map((r) => r.device.name);
  const { focus, selected, logScroll, help, text } = ui.current;
  const current = selected !== undefined && rowsInTree.includes(selected) ? selected : rowsInTree[0];

  const quit = useCallback(() => {
    setMessage({ kind: 'busy', text: 'quitting: closing devices...' });
    void actions.quit().finally(() => exit());
  }, [actions, exit]);

  // Stable, so the inspector asks again only when the state changed (and bound: actions may be a class).
  const loadInspection = useCallback(
    (name: string) => (actions.inspect ? actions.inspect(name) : Promise.resolve([])),
    [actions],
  );

  const act = (f: () => string): void => {
    try {
      setMessage({ kind: 'info', text: f() });
    } catch (e) {
      setMessage({ kind: 'error', text: errorText(e) });
    }
  };

  const submit = (line: string): void => {
    const trimmed = line.trim();
    const history = ui.current.history;
    update({
      text: '',
      historyAt: null,
      history: trimmed === '' || history[history.length - 1] === trimmed ? history : [...history, trimmed],
    });
    if (trimmed === '') return;
    const inspecting = inspectTarget(trimmed, current);
    if (inspecting !== null) return openInspector(inspecting);
    setMessage({ kind: 'busy', text: `running: ${trimmed}` });
    actions.run(trimmed).then(
      (out) => {
        const lines = out.split('\n');
        if (lines.length > 1) {
          for (const l of lines.slice(0, outputLines).reverse()) store.note('tui.output', { text: l });
          store.flush();
        }
        setMessage({ kind: 'info', text: lines.length > 1 ? `(${lines.length} lines in events) ${lines[0]}` : out });
      },
      (e: unknown) => setMessage({ kind: 'error', text: errorText(e) }),
    );
  };

  const openInspector = (name: string | undefined): void => {
    if (name === undefined) return setMessage({ kind: 'error', text: 'inspect: no device to inspect' });
    if (!actions.inspect) return setMessage({ kind: 'error', text: 'inspect: no engine to ask here' });
    update({ inspect: name, inspectScroll: 0, focus: 'devices' });
    setMessage({ kind: 'info', text: `inspecting ${name}: up/down scroll, i or esc closes` });
  };

  // The message line held the inspector's keys; they mean nothing once it is closed.
  const closeInspector = (): void => {
    update({ inspect: null });
    setMessage(null);
  };

  const moveFocus = (by: number): void => {
    const at = FOCUS_ORDER.indexOf(ui.current.focus);
    update({ focus: FOCUS_ORDER[(at + by + FOCUS_ORDER.length) % FOCUS_ORDER.length]! });
  };

  // A chunk of several characters (typed ahead, pasted, or sent by tmux send-keys) is handled one character at a
  // time, with CR or LF as Enter, so ':status\r' focuses the command line, types and runs the command.
  useInput((input, key) => {
    const special =
      key.upArrow || key.downArrow || key.leftArrow || key.rightArrow || key.escape || key.ctrl || key.meta;
    if (input.length <= 1 || special) return handleKey(input, key);
    for (const ch of input) {
      const enter = ch === '\r' || ch === '\n';
      handleKey(enter ? '' : ch, { ...key, return: enter, tab: ch === '\t' });
    }
  });

  function handleKey(input: string, key: Key): void {
    const u = ui.current;
    if (key.ctrl && input === 'c') return quit();
    if (u.help) return update({ help: false });
    if (store.getSnapshot().opened !== null) {
      store.note('tui.open', { entry: null });
      return store.flush();
    }
    if (key.tab) return moveFocus(key.shift ? -1 : 1);
    if (u.focus === 'command') {
      if (key.escape) return update({ focus: 'devices' });
      if (key.return) return submit(u.text);
      if (key.backspace || key.delete) return update({ text: u.text.slice(0, -1) });
      if (key.upArrow || key.downArrow) {
        if (u.history.length === 0) return;
        const at = u.historyAt === null ? u.history.length : u.historyAt;
        const next = Math.max(0, Math.min(u.history.length, at + (key.upArrow ? -1 : 1)));
        return update({ historyAt: next, text: next === u.history.length ? '' : u.history[next]! });
      }
      if (key.ctrl || key.meta || key.leftArrow || key.rightArrow) return;
      if (input) update({ text: u.text + input });
      return;
    }
    if (u.inspect !== null && (key.escape || input === 'i')) return closeInspector();
    if (u.inspect !== null && (key.upArrow || key.downArrow))
      return update({ inspectScroll: Math.max(0, u.inspectScroll + (key.upArrow ? -1 : 1)) });
    if (input === 'i') return openInspector(current);
    if (input === 'q') return quit();
    if (input === '?') return update({ help: true });
    if (input === 'p') return act(() => actions.togglePause());
    if (input === 's') return act(() => (lesson ? lesson.step() : actions.step()));
    if (input === 'n' && lesson) return act(() => lesson.next());
    if (input === ':' || input === '/') return update({ focus: 'command' });
    if (key.return && u.focus === 'log') {
      const entry = state.log.entries[Math.min(u.logScroll, state.log.entries.length - 1)];
      if (entry) {
        store.note('tui.open', { entry: entry.n });
        store.flush();
      }
      return;
    }
    if (key.upArrow || key.downArrow) {
      const by = key.upArrow ? -1 : 1;
      if (u.focus === 'devices' && rowsInTree.length > 0) {
        const now = u.selected !== undefined && rowsInTree.includes(u.selected) ? u.selected : rowsInTree[0]!;
        const at = rowsInTree.indexOf(now);
        update({ selected: rowsInTree[Math.max(0, Math.min(rowsInTree.length - 1, at + by))] });
      } else if (u.focus === 'log') {
        update({ logScroll: Math.max(0, Math.min(state.log.entries.length - 1, u.logScroll + by)) });
      }
    }
  }

  const opened = state.opened !== null ? findEntry(state.log, state.opened) : undefined;
  const narration = lessonView ? narrationRows(height) : 0;
  const L = layout(width, height - narration);
  return (
    <ColourContext.Provider value={colour}>
      <Box flexDirection="column" width={L.cols}>
        <Header state={state} mode={actions.modeName} local={actions.canPause} width={L.cols} />
        {help ? (
          <HelpPanel width={L.cols} height={L.top + L.middle + L.log + narration} />
        ) : opened ? (
          <EventPanel entry={opened} width={L.cols} height={L.top + L.middle + L.log + narration} />
        ) : ui.current.inspect !== null && actions.inspect ? (
          <InspectorPanel
            device={ui.current.inspect}
            load={loadInspection}
            version={state}
            scroll={ui.current.inspectScroll}
            width={L.cols}
            height={L.top + L.middle + L.log + narration}
          />
        ) : (
          <>
            <Box height={L.top}>
              <DevicesPanel
                state={state}
                selected={current}
                focused={focus === 'devices'}
                width={L.left}
                height={L.top}
              />
              <Box width={1} />
              <KcopydPanel state={state} focused={focus === 'kcopyd'} width={L.right} height={L.top} />
            </Box>
            <Box height={L.middle}>
              <MapPanel state={state} device={current} focused={false} width={L.left} height={L.middle} />
              <Box width={1} />
              <ThroughputPanel state={state} focused={false} width={L.right} height={L.middle} />
            </Box>
            <LogPanel state={state} focused={focus === 'log'} scroll={logScroll} width={L.cols} height={L.log} />
            {lessonView && <NarrationPanel view={lessonView} paused={state.paused} width={L.cols} height={narration} />}
          </>
        )}
        <CommandLine text={text} focused={focus === 'command'} message={message} width={L.cols} />
      </Box>
    </ColourContext.Provider>
  );
}
