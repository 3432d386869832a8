// Each kind of mistake in a scenario is refused before anything runs, with a message that names the file,
// the step (number and kind) and the field, and says what would be right.

import { describe, expect, it } from 'vitest';
import { parseScenario, ScenarioError, validateScenario } from '../../src/scenario/schema.js';

const wrap = (...steps: unknown[]) => ({ scenario: 1, title: 't', steps });
const base = [
  { do: 'image', name: 'disk', size: '1M' },
  { do: 'create', name: 'lin', table: '0 2048 linear ${disk} 0' },
];

function refusal(raw: unknown): ScenarioError {
  try {
    validateScenario(raw, 'bad.json');
  } catch (e) {
    expect(e).toBeInstanceOf(ScenarioError);
    expect((e as ScenarioError).code).toBe('EINVAL');
    return e as ScenarioError;
  }
  throw new Error('the scenario was accepted');
}

describe('scenario validation', () => {
  it('accepts a well-formed scenario and numbers its steps from 1', () => {
    const s = validateScenario(
      wrap(...base, { do: 'write', device: 'lin', sector: 0, count: 8, byte: '0xab', say: 'hi' }),
      'ok.json',
    );
    expect(s.steps.map((x) => x.number)).toEqual([1, 2, 3]);
    expect(s.steps[2]).toMatchObject({ do: 'write', to: { device: 'lin' }, pattern: { byte: 0xab }, say: 'hi' });
    expect(s.steps[0]).toMatchObject({ sizeSectors: 2048 });
  });

  it.each([
    [
      'a wrong version',
      { scenario: 2, title: 't', steps: [{ do: 'note' }] },
      /bad\.json: field "scenario" must be 1 .*got 2/,
    ],
    ['no title', { scenario: 1, steps: [{ do: 'note' }] }, /field "title" must be a non-empty string/],
    ['no steps', { scenario: 1, title: 't', steps: [] }, /field "steps" must be a non-empty list/],
    [
      'an unknown top-level field',
      { scenario: 1, title: 't', steps: [{ do: 'note' }], step: [] },
      /unknown top-level field "step"/,
    ],
    [
      'kcopyd settings with an unknown key',
      { scenario: 1, title: 't', steps: [{ do: 'note' }], kcopyd: { sharedPages: 0, reserve: 1 } },
      /field "kcopyd" must be \{"sharedPages": N\}/,
    ],
    [
      'a shared page count that is not a number',
      { scenario: 1, title: 't', steps: [{ do: 'note' }], kcopyd: { sharedPages: 'none' } },
      /in "kcopyd": field "sharedPages" must be a whole number >= 0/,
    ],
  ])('refuses %s', (_, raw, message) => {
    expect(refusal(raw).message).toMatch(message);
  });

  it('refuses text that is not JSON, naming the file', () => {
    expect(() => parseScenario('{"scenario": 1,', 'bad.json')).toThrow(/^bad\.json: not valid JSON/);
  });

  it.each([
    [
      'an unknown step kind',
      { do: 'crate', name: 'x' },
      /bad\.json: step 3: unknown "do": "crate" \(known: note, image, create/,
    ],
    ['a step that is not an object', 'write', /step 3: must be an object with a "do" field/],
    [
      'an unknown field (a typo)',
      { do: 'create', name: 'x', tabel: '0 8 zero' },
      /step 3 \(create\): unknown field "tabel" \(a create step takes: name, table, readOnly, say, fails\)/,
    ],
    ['a missing field', { do: 'create', name: 'x' }, /step 3 \(create\): missing field "table"/],
    [
      'a sector that is not a whole number',
      { do: 'write', device: 'lin', sector: -1, count: 8, byte: 1 },
      /step 3 \(write\): field "sector" must be a whole number >= 0, got -1/,
    ],
    [
      'a zero count',
      { do: 'read', device: 'lin', sector: 0, count: 0, byte: 1 },
      /step 3 \(read\): field "count" must be at least 1/,
    ],
    [
      'a byte out of range',
      { do: 'write', device: 'lin', sector: 0, count: 8, byte: '0x100' },
      /step 3 \(write\): field "byte" must be a byte/,
    ],
    [
      'both byte and seed',
      { do: 'write', device: 'lin', sector: 0, count: 8, byte: 1, seed: 's' },
      /step 3 \(write\): give exactly one of "byte" or "seed"/,
    ],
    [
      'both device and image',
      { do: 'write', device: 'lin', image: 'disk', sector: 0, count: 8, byte: 1 },
      /step 3 \(write\): give exactly one of "device" or "image"/,
    ],
    [
      'a read that checks nothing',
      { do: 'read', device: 'lin', sector: 0, count: 8 },
      /step 3 \(read\): a read step checks the data: give "byte", "seed" or "sha256"/,
    ],
    [
      'a bad sha256',
      { do: 'read', device: 'lin', sector: 0, count: 8, sha256: 'abc' },
      /field "sha256" must be 64 lowercase hex digits/,
    ],
    [
      'a device no earlier step created',
      { do: 'resume', name: 'lni' },
      /step 3 \(resume\): device "lni" is not created by an earlier "create" step/,
    ],
    [
      'an image no earlier step made',
      { do: 'create', name: 'x', table: '0 8 linear ${dsk} 0' },
      /step 3 \(create\): the table names \$\{dsk\} but no earlier "image" step makes an image "dsk"/,
    ],
    [
      'an image I/O to an unknown image',
      { do: 'write', image: 'dsk', sector: 0, count: 1, byte: 0 },
      /step 3 \(write\): image "dsk" is not made by an earlier "image" step/,
    ],
    [
      'a bad regular expression',
      { do: 'expect-status', name: 'lin', match: '(' },
      /step 3 \(expect-status\): field "match" is not a valid regular expression/,
    ],
    [
      'an unknown wait condition',
      { do: 'wait', name: 'lin', for: 'synced' },
      /step 3 \(wait\): field "for" must be one of sync, merged, invalid, event, status, got "synced"/,
    ],
    [
      'an event wait without a number',
      { do: 'wait', name: 'lin', for: 'event' },
      /step 3 \(wait\): field "event" must be a whole number/,
    ],
    [
      'a match on a wait that does not use it',
      { do: 'wait', name: 'lin', for: 'sync', match: 'x' },
      /step 3 \(wait\): field "match" goes with "for": "status"/,
    ],
    [
      'an unknown error code',
      { do: 'remove', name: 'lin', fails: 'EBUSYY' },
      /step 3 \(remove\): field "fails" has code "EBUSYY"; known codes: EINVAL/,
    ],
    [
      'a bad error match',
      { do: 'remove', name: 'lin', fails: { code: 'EBUSY', match: '[' } },
      /step 3 \(remove\): in "fails": field "match" is not a valid regular expression/,
    ],
    [
      'a bad image size',
      { do: 'image', name: 'big', size: '12Q' },
      /step 3 \(image\): field "size": invalid size "12Q"/,
    ],
    [
      'an image name that is not a file name',
      { do: 'image', name: '../x', size: '1M' },
      /step 3 \(image\): field "name" must be letters, digits/,
    ],
    [
      'too many copy destinations',
      { do: 'copy', from: { image: 'disk', sector: 0, count: 8 }, to: Array(9).fill({ image: 'disk', sector: 0 }) },
      /step 3 \(copy\): field "to" has 9 regions; kcopyd takes at most 8/,
    ],
    [
      'a copy source without a count',
      { do: 'copy', from: { image: 'disk', sector: 0 }, to: [{ image: 'disk', sector: 8 }] },
      /step 3 \(copy\): in "from": missing|step 3 \(copy\): in "from": field "count"/,
    ],
    [
      'mismatched copy counts',
      { do: 'copy', from: { image: 'disk', sector: 0, count: 8 }, to: [{ image: 'disk', sector: 8, count: 16 }] },
      /step 3 \(copy\): a destination has count 16 but the source has 8/,
    ],
    [
      'an unknown field in a region',
      { do: 'copy', from: { image: 'disk', sector: 0, count: 8, offset: 1 }, to: [{ image: 'disk', sector: 8 }] },
      /step 3 \(copy\): unknown field "offset" in "from"/,
    ],
    [
      'a queued job with an unknown field',
      {
        do: 'copy',
        from: { image: 'disk', sector: 0, count: 8 },
        to: [{ image: 'disk', sector: 8 }],
        followedBy: [{ from: { image: 'disk', sector: 0, count: 8 }, to: [{ image: 'disk', sector: 16 }], reserve: 4 }],
      },
      /step 3 \(copy\): unknown field "reserve" in "followedBy\[0\]"/,
    ],
    [
      'a queued job without destinations',
      {
        do: 'copy',
        from: { image: 'disk', sector: 0, count: 8 },
        to: [{ image: 'disk', sector: 8 }],
        followedBy: [{ from: { image: 'disk', sector: 0, count: 8 } }],
      },
      /step 3 \(copy\): in "followedBy\[0\]": missing field "to"/,
    ],
    [
      'a reserve that is not a page count',
      { do: 'copy', from: { image: 'disk', sector: 0, count: 8 }, to: [{ image: 'disk', sector: 8 }], reserve: -1 },
      /step 3 \(copy\): field "reserve" must be a whole number >= 0/,
    ],
    [
      'a table that is not text',
      { do: 'load', name: 'lin', table: 42 },
      /step 3 \(load\): field "table" must be a table: a string or a list of lines, got 42/,
    ],
    [
      'a message without words',
      { do: 'message', name: 'lin', args: [] },
      /step 3 \(message\): field "args" must be a message/,
    ],
    ['narration that is not text', { do: 'note', say: 5 }, /step 3 \(note\): field "say" must be a non-empty string/],
  ])('refuses %s, naming the step and the field', (_, step, message) => {
    expect(refusal(wrap(...base, step)).message).toMatch(message);
  });
});
