// runScenario: plays a whole scenario headless (a file path or an already parsed object) and reports it as
// TAP; what `dmsim run` prints and what tests call. ok only when every step held.

import { readFile } from 'node:fs/promises';
import type { EventBus } from '../base/events.js';
import { ScenarioPlayer, type StepOutcome } from './player.js';
import { parseScenario, type Scenario, ScenarioError, validateScenario } from './schema.js';
import { tapHeader, tapStep, tapSummary } from './tap-report.js';

export interface RunOptions {
  /** Play against the daemon at this control socket (default: an embedded device-mapper). */
  socket?: string;
  /** With socket: how a restart step restarts the daemon (see PlayerOptions.restartDaemon). */
  restartDaemon?: () => Promise<void>;
  /** How long one step may take before it is reported stuck (default 60 s). */
  stepLimitMs?: number;
  /** Receives each report line as it is made (default: collected only). */
  onLine?: (line: string) => void;
  /** The embedded engine's bus (to trace it); not with socket: the daemon has its own. */
  bus?: EventBus;
}

export interface RunResult {
  ok: boolean;
  scenario: Scenario;
  outcomes: StepOutcome[];
  /** The TAP report. */
  lines: string[];
}

/** Reads and validates a scenario file. */
export async function loadScenario(path: string): Promise<Scenario> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (e) {
    throw new ScenarioError(
      `cannot read the scenario ${path}: ${(e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message}`,
    );
  }
  return parseScenario(text, path);
}

/** A Scenario from loadScenario/validateScenario (it has "version" and "source"; the JSON form has "scenario"). */
function isValidated(source: object): source is Scenario {
  return 'version' in source && 'source' in source && !('scenario' in source);
}

/** Plays a scenario file, a parsed JSON object, or a validated Scenario from start to end. */
export async function runScenario(source: string | Scenario | object, options: RunOptions = {}): Promise<RunResult> {
  const scenario =
    typeof source === 'string' ? await loadScenario(source) : isValidated(source) ? source : validateScenario(source);
  const lines: string[] = [];
  const emit = (ls: string[]): void => {
    for (const l of ls) {
      lines.push(l);
      options.onLine?.(l);
    }
  };
  const player = await ScenarioPlayer.open(scenario, {
    ...(options.socket !== undefined ? { socket: options.socket } : {}),
    ...(options.stepLimitMs !== undefined ? { stepLimitMs: options.stepLimitMs } : {}),
    ...(options.restartDaemon !== undefined ? { restartDaemon: options.restartDaemon } : {}),
    ...(options.bus !== undefined ? { bus: options.bus } : {}),
  });
  const outcomes: StepOutcome[] = [];
  emit(tapHeader(scenario));
  try {
    while (!player.done) {
      const o = await player.next();
      outcomes.push(o);
      emit(tapStep(o));
      if (o.bail) break;
    }
  } finally {
    await player.close();
  }
  emit(tapSummary(outcomes, scenario.steps.length));
  const ok = outcomes.length === scenario.steps.length && outcomes.every((o) => o.ok);
  return { ok, scenario, outcomes, lines };
}
