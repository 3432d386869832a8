// A step's title shows an expected status line as the line itself when the pattern accepts exactly one line
// (a lesson's `"match": "^0 2048 snapshot 16/2048 16$"`), and the pattern otherwise.

import { describe, expect, it } from 'vitest';
import type { Step } from '../../src/scenario/schema.js';
import { describeStep } from '../../src/scenario/step-title.js';

const expectStatus = (match: RegExp): Step => ({ do: 'expect-status', name: 'snap', match }) as unknown as Step;

describe('expect-status titles', () => {
  it('a whole line, even with / in it, reads as the line', () => {
    expect(describeStep(expectStatus(/^0 2048 snapshot 16\/2048 16$/))).toBe(
      'status of snap is: 0 2048 snapshot 16/2048 16',
    );
    expect(describeStep(expectStatus(/^0 8 linear \/dev\/x 0$/))).toBe('status of snap is: 0 8 linear /dev/x 0');
  });

  it('a pattern stays a pattern', () => {
    for (const re of [/^0 2048 snapshot \d+\/2048 16$/, /^0 128 linear/, /Invalid/, /^a.b$/, /^(a|b)$/]) {
      expect(describeStep(expectStatus(re))).toBe(`status of snap matches /${re.source}/`);
    }
  });
});
