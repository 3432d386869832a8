// The scenario library: the format (schema), the step-by-step player (for the TUI) and the headless runner.

export type { PlayerOptions, StepOutcome } from './player.js';
export { ScenarioPlayer } from './player.js';
export type { RunOptions, RunResult } from './run-scenario.js';
export { loadScenario, runScenario } from './run-scenario.js';
export type { Scenario, Step, StepKind } from './schema.js';
export { parseScenario, SCENARIO_VERSION, ScenarioError, validateScenario } from './schema.js';
