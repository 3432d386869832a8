// Screen layout: how many rows and columns each panel gets. Fits 80x24 and gives extra room to the panels
// that grow (devices/kcopyd and the log). The whole frame stays one line shorter than the terminal: Ink
// clears and redraws the screen when a frame is as tall as the terminal, which flickers.

export interface Layout {
  cols: number;
  left: number;
  right: number;
  top: number;
  middle: number;
  log: number;
}

const MIN_COLS = 60;
const MIN_ROWS = 16;

export function layout(cols: number, rows: number): Layout {
  const c = Math.max(MIN_COLS, cols);
  const r = Math.max(MIN_ROWS, rows);
  const body = r - 4; // header, command line, message line, and the line Ink must keep free
  const top = Math.max(5, Math.floor(body * 0.4));
  const middle = Math.max(5, Math.min(10, Math.floor(body * 0.27)));
  const left = c >= 120 ? Math.floor(c * 0.45) : Math.floor(c / 2);
  return { cols: c, left, right: c - left - 1, top, middle, log: body - top - middle };
}
