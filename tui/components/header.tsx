// The top line: mode, kcopyd running or paused (with the worker pass count), device and job counts, keys.

import type { ViewState } from '../store/view-state.js';
import { fit } from '../format.js';
import { Toned } from './theme.js';

export function headerText(state: ViewState, mode: string, width: number): string {
  const live = [...state.jobs.values()].filter((j) => j.stage !== 'complete').length;
  const kcopyd = state.paused ? 'kcopyd PAUSED (s: step)' : 'kcopyd running';
  return fit(` dmsim ${mode} | ${kcopyd} | pass ${state.passes} | ${state.devices.size} devices | ${live} jobs | ? help  q quit`, width);
}

export function Header({ state, mode, width }: { state: ViewState; mode: string; width: number }) {
  return (
    <Toned tone={state.paused ? 'warn' : 'title'} bold>
      {headerText(state, mode, width)}
    </Toned>
  );
}
