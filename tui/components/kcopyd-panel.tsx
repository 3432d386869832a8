// kcopyd panel: per client the page gauge (reserve used/free, shared pages held) and the lengths of its
// queues (pages_jobs, io_jobs, complete_jobs); then the jobs with owner, regions, stage, sub-jobs done and in
// flight, a progress bar and the read_err / write_err bits.

import { Box } from 'ink';
import { errorBits, jobList } from '../store/kcopyd-view.js';
import type { JobView, KcopydClientView, ViewState } from '../store/view-state.js';
import { bar, fit } from '../format.js';
import { Panel } from './panel.js';
import { type Tone, Toned } from './theme.js';

export function clientLine(c: KcopydClientView, width: number): string {
  const used = c.reservePages - c.reserveFree;
  const gauge = `pages [${bar(c.reservePages ? used / c.reservePages : 0, width >= 60 ? 10 : 5)}] ${used}/${c.reservePages}`;
  const shared = c.sharedUsed > 0 ? ` +${c.sharedUsed}sh` : '';
  const q = `q pg${c.queues.pages} io${c.queues.io} cp${c.queues.complete}`;
  return fit(`c${c.id} ${c.owner.padEnd(8).slice(0, 8)} ${gauge}${shared} ${q}`, width);
}

export function jobLine(j: JobView, width: number): string {
  const wide = width >= 70;
  const head = `#${String(j.id).padEnd(3)} ${j.owner.padEnd(8).slice(0, 8)} ${j.stage.padEnd(8)}`;
  const progress = `[${bar(j.totalSectors ? j.doneSectors / j.totalSectors : 0, wide ? 10 : 6)}] ${j.subDone}+${j.subInFlight}`;
  const errs = j.readErr || j.writeErr ? ` ${errorBits(j)}` : j.stage === 'complete' ? ' ok' : '';
  const regions = wide ? ` ${j.source}>${j.dests.join(',')}` : '';
  return fit(`${head} ${progress}${errs}${regions}`, width);
}

function jobTone(j: JobView): Tone {
  if (j.readErr || j.writeErr) return 'error';
  if (j.stage === 'complete') return 'dim';
  if (j.stage === 'pages') return 'warn';
  return 'busy';
}

export interface KcopydPanelProps {
  state: ViewState;
  focused: boolean;
  width: number;
  height: number;
}

export function KcopydPanel({ state, focused, width, height }: KcopydPanelProps) {
  const clients = [...state.clients.values()].sort((a, b) => a.id - b.id);
  const jobs = jobList(state.jobs);
  const live = jobs.filter((j) => j.stage !== 'complete').length;
  const body = Math.max(0, height - 1);
  const shared = state.shared.limit !== null ? [fit(`shared pool ${state.shared.used}/${state.shared.limit} pages`, width)] : [];
  // Clients get at most half the body so jobs stay visible; the rest of the body lists jobs.
  const clientRows = Math.min(clients.length, Math.max(1, Math.floor(body / 2)) - shared.length);
  const jobRows = Math.max(0, body - shared.length - Math.max(0, clientRows));
  return (
    <Panel title="kcopyd" info={`${clients.length} clients, ${live} jobs${state.paused ? ' PAUSED' : ''}`} focused={focused} width={width} height={height}>
      <Box flexDirection="column">
        {shared.map((l) => (
          <Toned key="shared" tone="plain">{l}</Toned>
        ))}
        {clients.slice(0, Math.max(0, clientRows)).map((c) => (
          <Toned key={`c${c.id}`} tone={c.reserveFree === 0 ? 'warn' : 'plain'}>
            {clientLine(c, width)}
          </Toned>
        ))}
        {clients.length === 0 ? <Toned tone="dim">{fit(' no kcopyd clients', width)}</Toned> : null}
        {jobs.slice(0, jobRows).map((j) => (
          <Toned key={`j${j.id}`} tone={jobTone(j)}>
            {jobLine(j, width)}
          </Toned>
        ))}
      </Box>
    </Panel>
  );
}
