// The top line: mode, kcopyd running or paused (with the worker pass count), device and job counts, keys.

import { fit } from '../format.js';
import type { ViewState } from '../store/view-state.js';
import { Toned } from './theme.js';

/** `local`: kcopyd runs in this process (it can be paused); otherwise it is the daemon's. */
function headerText(state: ViewState, mode: string, local: boolean, width: number): string {
  const live = [...state.jobs.values()].filter((j) => j.stage !== 'complete').length;
  const kcopyd = !local ? "daemon's kcopyd" : state.paused ? 'kcopyd PAUSED (s: step)' : 'kcopyd running';
  const facts = ` dmsim ${mode} | ${kcopyd} | pass ${state.passes} | ${state.devices.size} devices | ${live} jobs`;
  // The key hints are the first to go when the line is too long: the command line repeats `? for help`.
  const keys = ' | ? help  q quit';
  return fit(facts.length + keys.length <= width ? facts + keys : facts, width);
}

export function Header({
  state,
  mode,
  local,
  width,
}: {
  state: ViewState;
  mode: string;
  local: boolean;
  width: number;
}) {
  return (
    <Toned tone={state.paused ? 'warn' : 'title'} bold>
      {headerText(state, mode, local, width)}
    </Toned>
  );
}
