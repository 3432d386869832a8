// kcopyd panel: per client the page gauge (reserve used/free, shared pages held) and the lengths of its
// queues (pages_jobs, io_jobs, complete_jobs); then the jobs with owner, regions, stage, sub-jobs done and in
// flight, a progress bar and the read_err / write_err bits.

import { Box } from 'ink';
import { bar, fit } from '../format.js';
import { errorBits, jobList } from '../store/kcopyd-view.js';
import type { JobView, KcopydClientView, ViewState } from '../store/view-state.js';
import { Panel } from './panel.js';
import { type Tone, Toned } from './theme.js';

/** `c1 snapshot pg 96/128+4 [####.] q 0 2 0`: reserve pages used/total (+shared held), queue lengths
 * pages_jobs, io_jobs, complete_jobs. */
function clientLine(c: KcopydClientView, width: number): string {
  const wide = width >= 60;
  const used = c.reservePages - c.reserveFree;
  const pages = `pg ${used}/${c.reservePages}${c.sharedUsed > 0 ? `+${c.sharedUsed}` : ''}`;
  const gauge = `[${bar(c.reservePages ? used / c.reservePages : 0, wide ? 10 : 4)}]`;
  const q = wide
    ? `queues pages ${c.queues.pages} io ${c.queues.io} complete ${c.queues.complete}`
    : `q ${c.queues.pages} ${c.queues.io} ${c.queues.complete}`;
  return fit(`c${c.id} ${c.owner.padEnd(8).slice(0, 8)} ${pages} ${gauge} ${q}`, width);
}

/** The stage as the job line shows it (at most 7 columns). */
const STAGE_WORD: Record<JobView['stage'], string> = {
  queued: 'queued',
  pages: 'pages',
  'read-queued': 'read-q',
  reading: 'reading',
  'write-queued': 'write-q',
  writing: 'writing',
  finishing: 'finish',
  complete: 'done',
};

/** `#12 snapshot write [###...] 4/10+6`: chunks done/total and in flight; the error bits when set. */
function jobLine(j: JobView, width: number): string {
  const wide = width >= 60;
  const head = `#${String(j.id).padEnd(3)} ${j.owner.padEnd(8).slice(0, wide ? 8 : 6)} ${STAGE_WORD[j.stage].padEnd(7)}`;
  const progress = `[${bar(j.totalSectors ? j.doneSectors / j.totalSectors : 0, wide ? 10 : 4)}] ${j.subDone}/${j.chunks}+${j.subInFlight}`;
  const errs =
    j.readErr || j.writeErr
      ? ` ${wide ? errorBits(j) : `r${j.readErr ? 1 : 0} w0x${(j.writeErr >>> 0).toString(16)}`}`
      : '';
  return fit(`${head} ${progress}${errs}`, width);
}

/** The job's regions: `src:0+640 > dst:0+640,...`. */
function jobRegions(j: JobView, width: number): string {
  return fit(`     ${j.source} > ${j.dests.join(', ')}`, width);
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
  const shared =
    state.shared.limit !== null ? [fit(`shared pool ${state.shared.used}/${state.shared.limit} pages`, width)] : [];
  // Clients get at most half the body so jobs stay visible; the rest of the body lists jobs.
  const clientRows = Math.max(0, Math.min(clients.length, Math.max(1, Math.floor(body / 2)) - shared.length));
  const hiddenClients = clients.length - clientRows;
  let budget = Math.max(0, body - shared.length - Math.max(1, clientRows));
  // Each job takes one line; while room remains, a job also shows its regions on a second line.
  const lines: Array<{ key: string; text: string; tone: Tone }> = [];
  jobs.forEach((j, i) => {
    if (budget <= 0) return;
    lines.push({ key: `j${j.id}`, text: jobLine(j, width), tone: jobTone(j) });
    budget--;
    if (budget > jobs.length - i - 1) {
      lines.push({ key: `r${j.id}`, text: jobRegions(j, width), tone: 'dim' });
      budget--;
    }
  });
  return (
    <Panel
      title="kcopyd"
      info={`${clients.length} clients, ${live} jobs${state.paused ? ' PAUSED' : ''}`}
      focused={focused}
      width={width}
      height={height}
    >
      <Box flexDirection="column">
        {shared.map((l) => (
          <Toned key="shared" tone="plain">
            {l}
          </Toned>
        ))}
        {clients.slice(0, hiddenClients > 0 ? clientRows - 1 : clientRows).map((c) => (
          <Toned key={`c${c.id}`} tone={c.reserveFree === 0 ? 'warn' : 'plain'}>
            {clientLine(c, width)}
          </Toned>
        ))}
        {hiddenClients > 0 ? <Toned tone="dim">{fit(`   ... ${hiddenClients + 1} more clients`, width)}</Toned> : null}
        {clients.length === 0 ? <Toned tone="dim">{fit(' no kcopyd clients', width)}</Toned> : null}
        {lines.map((l) => (
          <Toned key={l.key} tone={l.tone}>
            {l.text}
          </Toned>
        ))}
      </Box>
    </Panel>
  );
}
