// Screen geometry and colour choice: 80x24 fits with one spare line, bigger terminals give the growing
// panels more room, and NO_COLOR (any non-empty value, no-color.org) or a non-TTY turns colour off.

import { describe, expect, it } from 'vitest';
import { colourWanted } from '../../tui/components/theme.js';
import { layout } from '../../tui/layout.js';

describe('layout', () => {
  it('at 80x24 the header, panels, command and message lines take 23 rows and 80 columns', () => {
    const l = layout(80, 24);
    expect(1 + l.top + l.middle + l.log + 2).toBe(23);
    expect(l.left + 1 + l.right).toBe(80);
    expect(Math.min(l.top, l.middle, l.log)).toBeGreaterThanOrEqual(5);
  });

  it('a bigger terminal gives more rows to the devices/kcopyd row and the log, and stays one row short', () => {
    const small = layout(80, 24);
    const big = layout(200, 60);
    expect(1 + big.top + big.middle + big.log + 2).toBe(59);
    expect(big.top).toBeGreaterThan(small.top);
    expect(big.log).toBeGreaterThan(small.log);
    expect(big.right).toBeGreaterThan(big.left); // the kcopyd side gets the extra width
  });

  it('a terminal smaller than 60x16 is drawn as 60x16 rather than squeezed', () => {
    expect(layout(20, 5)).toEqual(layout(60, 16));
  });
});

describe('colour', () => {
  const tty = { isTTY: true, hasColors: () => true };
  it('is on for a colour TTY, off under NO_COLOR, off when not a TTY, forced by FORCE_COLOR', () => {
    expect(colourWanted({}, tty)).toBe(true);
    expect(colourWanted({ NO_COLOR: '1' }, tty)).toBe(false);
    expect(colourWanted({ NO_COLOR: '' }, tty)).toBe(true);
    expect(colourWanted({}, { isTTY: false })).toBe(false);
    expect(colourWanted({}, { isTTY: true, hasColors: () => false })).toBe(false);
    expect(colourWanted({ FORCE_COLOR: '1' }, { isTTY: false })).toBe(true);
  });
});
