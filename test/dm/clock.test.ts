// ManualClock: timers fire in due order (ties in the order set), only when time is advanced past them.

import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/base/clock.js';

describe('ManualClock', () => {
  it('fires due timers earliest first, ties in the order they were set, reading each due time', () => {
    const clock = new ManualClock(100);
    const fired: string[] = [];
    clock.setTimer(30, () => fired.push(`b@${clock.now()}`));
    clock.setTimer(10, () => fired.push(`a@${clock.now()}`));
    clock.setTimer(30, () => fired.push(`c@${clock.now()}`));
    const cancel = clock.setTimer(20, () => fired.push('cancelled'));
    cancel();
    clock.advance(29);
    expect(fired).toEqual(['a@110']);
    clock.advance(1);
    expect(fired).toEqual(['a@110', 'b@130', 'c@130']);
    expect(clock.now()).toBe(130);
    expect(clock.pending).toBe(0);
  });

  it('fires timers set by a firing timer when they fall due in the same advance', () => {
    const clock = new ManualClock();
    const fired: number[] = [];
    clock.setTimer(5, () => {
      fired.push(clock.now());
      clock.setTimer(5, () => fired.push(clock.now()));
      clock.setTimer(50, () => fired.push(clock.now()));
    });
    clock.advance(20);
    expect(fired).toEqual([5, 10]);
    expect(clock.now()).toBe(20);
    expect(clock.pending).toBe(1);
  });
});
