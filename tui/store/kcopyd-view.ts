// The kcopyd slice: clients with their page gauge and queue lengths (dm-kcopyd.c's nr_reserved_pages,
// nr_free_pages, pages_jobs, io_jobs, complete_jobs, callback_jobs), and jobs from queued to complete.

import { FINISHED_JOBS_KEPT, type JobView, type KcopydClientView } from './view-state.js';

type Clients = ReadonlyMap<number, KcopydClientView>;
type Jobs = ReadonlyMap<number, JobView>;

function newClient(id: number, owner: string, reservePages: number): KcopydClientView {
  return {
    id,
    owner,
    reservePages,
    reserveFree: reservePages,
    sharedUsed: 0,
    queues: { pages: 0, io: 0, complete: 0, callback: 0 },
    jobsDone: 0,
  };
}

export function updateClient(clients: Clients, id: number, change: Partial<KcopydClientView>, owner = '?'): Clients {
  const next = new Map(clients);
  next.set(id, { ...(clients.get(id) ?? newClient(id, owner, 0)), ...change });
  return next;
}

export function removeClient(clients: Clients, id: number): Clients {
  if (!clients.has(id)) return clients;
  const next = new Map(clients);
  next.delete(id);
  return next;
}

export function newJob(
  fields: Pick<JobView, 'id' | 'client' | 'owner' | 'kind' | 'source' | 'dests' | 'totalSectors' | 'startedAt'>,
): JobView {
  return {
    ...fields,
    stage: 'queued',
    doneSectors: 0,
    chunks: 1,
    subDone: 0,
    subInFlight: 0,
    pages: 0,
    readErr: false,
    writeErr: 0,
  };
}

export function updateJob(jobs: Jobs, id: number, change: (j: JobView) => Partial<JobView>): Jobs {
  const j = jobs.get(id);
  if (!j) return jobs;
  const next = new Map(jobs);
  next.set(id, { ...j, ...change(j) });
  return next;
}

export function putJob(jobs: Jobs, job: JobView): Jobs {
  const next = new Map(jobs);
  next.set(job.id, job);
  return next;
}

/** Marks a job complete and keeps only the most recent finished jobs beside the live ones. */
export function finishJob(jobs: Jobs, id: number, readErr: boolean, writeErr: number, time: number): Jobs {
  const updated = updateJob(jobs, id, (j) => ({
    stage: 'complete',
    readErr,
    writeErr,
    endedAt: time,
    subInFlight: 0,
    pages: 0,
    // An unsplit job reports no progress events: its one chunk is done when it completes.
    ...(j.chunks === 1 && !readErr && !writeErr ? { subDone: 1, doneSectors: j.totalSectors } : {}),
  }));
  const finished = [...updated.values()]
    .filter((j) => j.stage === 'complete')
    .sort((a, b) => (b.endedAt ?? 0) - (a.endedAt ?? 0) || b.id - a.id);
  if (finished.length <= FINISHED_JOBS_KEPT) return updated;
  const next = new Map(updated);
  for (const j of finished.slice(FINISHED_JOBS_KEPT)) next.delete(j.id);
  return next;
}

/** Jobs in display order: live ones first (oldest first), then the finished ones (newest first). */
export function jobList(jobs: Jobs): JobView[] {
  const all = [...jobs.values()];
  const live = all.filter((j) => j.stage !== 'complete').sort((a, b) => a.id - b.id);
  const done = all
    .filter((j) => j.stage === 'complete')
    .sort((a, b) => (b.endedAt ?? 0) - (a.endedAt ?? 0) || b.id - a.id);
  return [...live, ...done];
}

/** `read_err=N write_err=0xBITS`, as `dmsim copy` prints the kernel's two completion values. */
export function errorBits(j: Pick<JobView, 'readErr' | 'writeErr'>): string {
  return `read_err=${j.readErr ? 1 : 0} write_err=0x${(j.writeErr >>> 0).toString(16)}`;
}
