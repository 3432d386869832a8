// The event check the control client runs on every event off the socket: what the real engine emitted (the
// recorded streams of fixtures/events/, made by fixtures/events/record.ts from the real kcopyd and dm engine)
// passes; every field of every recorded kind is looked at (a wrong value in any one is refused, naming it).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { parseEvent } from '../../src/control/event-schema.js';

const dir = join(import.meta.dirname, '../../fixtures/events');

/** Every engine event of the recordings (the recorder's own tui.device snapshots left out). */
const recorded: Array<Record<string, unknown>> = readdirSync(dir)
  .filter((f) => f.endsWith('.jsonl.gz'))
  .flatMap((f) =>
    gunzipSync(readFileSync(join(dir, f)))
      .toString('utf8')
      .split('\n'),
  )
  .filter((l) => l.trim() !== '')
  .map((l) => JSON.parse(l) as Record<string, unknown>)
  .filter((e) => e.type !== 'tui.device');

function refusal(raw: unknown): string {
  try {
    parseEvent(raw);
  } catch (e) {
    return (e as Error).message;
  }
  return 'accepted';
}

describe('parseEvent', () => {
  it('accepts every event the engine emitted in the recordings', () => {
    expect(recorded.length).toBeGreaterThan(1000);
    expect(recorded.filter((e) => refusal(e) !== 'accepted').map(refusal)).toEqual([]);
    expect(parseEvent(recorded[0])).toBe(recorded[0]);
  });

  it('refuses a wrong value in any field of any recorded kind, naming the field', () => {
    const firstOfKind = new Map(recorded.map((e) => [e.type, e] as const).reverse());
    expect(firstOfKind.size).toBeGreaterThan(20);
    for (const [type, e] of firstOfKind) {
      for (const field of Object.keys(e).filter((k) => k !== 'type')) {
        const why = refusal({ ...e, [field]: { wrong: true } });
        expect(why.startsWith(`malformed ${type} event: field '${field}' `), `${type}.${field}: ${why}`).toBe(true);
      }
    }
  });

  it('refuses a missing field, an unknown kind and a non-object; an optional field may be absent', () => {
    const created = { type: 'dm.created', seq: 1, time: 2, device: 'a', minor: 0 };
    expect(refusal(created)).toBe('accepted');
    expect(refusal({ ...created, uuid: 'u' })).toBe('accepted');
    expect(refusal({ ...created, minor: undefined })).toBe("malformed dm.created event: field 'minor' is missing");
    expect(refusal({ ...created, seq: '1' })).toBe(`malformed dm.created event: field 'seq' must be a number, not "1"`);
    expect(refusal({ ...created, type: 'dm.future' })).toBe('malformed event: unknown type "dm.future"');
    expect(refusal([created])).toBe('malformed event: not a JSON object');
    const job = recorded.find((e) => e.type === 'kcopyd.job' && Array.isArray(e.dests) && e.dests.length > 0)!;
    expect(refusal({ ...job, phase: 'teleported' })).toMatch(/field 'phase' must be one of queued, pages-wait/);
    expect(refusal({ ...job, dests: [{ device: 'x', sector: 0 }] })).toBe(
      "malformed kcopyd.job event: field 'dests' [0] field 'count' is missing",
    );
  });
});
