// LineReader: splits a byte stream into newline-terminated lines with a hard length limit, so a peer that
// never sends a newline cannot make the other side buffer without bound. Used by the daemon and the client.

export type LineHandler = (line: string) => void;

export class LineReader {
  private chunks: Buffer[] = [];
  private pending = 0;
  private overflowed = false;

  constructor(
    private readonly maxBytes: number,
    private readonly onLine: LineHandler,
    private readonly onOverflow: () => void,
  ) {}

  push(data: Buffer): void {
    if (this.overflowed) return;
    let start = 0;
    for (let nl = data.indexOf(0x0a, start); nl !== -1; nl = data.indexOf(0x0a, start)) {
      if (this.pending + (nl - start) > this.maxBytes) return this.overflow();
      this.chunks.push(data.subarray(start, nl));
      const line = Buffer.concat(this.chunks).toString('utf8');
      this.chunks = [];
      this.pending = 0;
      start = nl + 1;
      this.onLine(line);
      if (this.overflowed) return;
    }
    if (start < data.length) {
      this.pending += data.length - start;
      if (this.pending > this.maxBytes) return this.overflow();
      this.chunks.push(data.subarray(start));
    }
  }

  private overflow(): void {
    this.overflowed = true;
    this.chunks = [];
    this.onOverflow();
  }
}
