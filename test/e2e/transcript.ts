// Golden transcripts: a list of shell commands and what each printed.
//
//   # free text describing the session           (header comments, before the first command)
//   # disks: D1=4M D2=1M                          (sparse disks the runner makes; $D1... in commands)
//   $ dmsim create lin --table "0 2048 linear $D1 0"
//   <stdout lines>
//   ! <stderr lines>
//   [exit N]                                      (only when N != 0)
//
// A command may span lines while a quote is open. A trailing `#dmsim-only` keeps a command out of the
// kernel recording (I/O helpers dmsetup does not have); `#kernel-differs` runs it on the kernel but does
// not compare; `#kernel-subset` requires every line dmsim prints to be among the kernel's lines; `#kernel-exact`
// compares with the kernel's stdout as it is, device numbers and all (reports of mapped devices, whose numbers
// dmsim gives as the kernel does).
// The same format holds the kernel's side (fixtures/transcripts/kernel/NAME.txt, made by replay.sh),
// which adds `# dev MAJ:MIN NAME` lines telling which device a major:minor in its output stands for.

type KernelMode = 'compare' | 'dmsim-only' | 'differs' | 'subset' | 'exact';

export interface Step {
  command: string;
  stdout: string[];
  stderr: string[];
  exit: number;
  kernel: KernelMode;
  /** Kernel recordings only: the major:minor -> name map as it stood after this command. */
  devices: Map<string, string>;
}

export interface Transcript {
  header: string[];
  disks: Array<{ name: string; size: string }>;
  steps: Step[];
}

function quotesOpen(text: string): boolean {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quote === null) {
      if (ch === '\\') i++;
      else if (ch === '"' || ch === "'") quote = ch;
    } else if (ch === quote) quote = null;
    else if (ch === '\\' && quote === '"') i++;
  }
  return quote !== null;
}

function kernelMode(command: string): KernelMode {
  if (/#dmsim-only\s*$/.test(command)) return 'dmsim-only';
  if (/#kernel-differs\s*$/.test(command)) return 'differs';
  if (/#kernel-subset\s*$/.test(command)) return 'subset';
  if (/#kernel-exact\s*$/.test(command)) return 'exact';
  return 'compare';
}

export function parseTranscript(text: string): Transcript {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const t: Transcript = { header: [], disks: [], steps: [] };
  const devices = new Map<string, string>();
  let step: Step | null = null;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i] as string;
    const dev = /^# dev (\d+:\d+) (.+)$/.exec(line);
    if (dev) {
      devices.set(dev[1] as string, dev[2] as string);
      if (step) step.devices = new Map(devices);
      continue;
    }
    if (line.startsWith('$ ')) {
      let command = line.slice(2);
      while (quotesOpen(command) && i + 1 < lines.length) command += `\n${lines[++i]}`;
      step = { command, stdout: [], stderr: [], exit: 0, kernel: kernelMode(command), devices: new Map(devices) };
      t.steps.push(step);
      continue;
    }
    if (!step) {
      t.header.push(line);
      const disks = /^# disks: (.*)$/.exec(line);
      if (disks) {
        for (const spec of (disks[1] as string).trim().split(/\s+/)) {
          const [name, size] = spec.split('=');
          t.disks.push({ name: name as string, size: size as string });
        }
      }
      continue;
    }
    const exit = /^\[exit (\d+)\]$/.exec(line);
    if (exit) step.exit = Number(exit[1]);
    else if (line.startsWith('! ')) step.stderr.push(line.slice(2));
    else if (line === '!') step.stderr.push('');
    else step.stdout.push(line);
  }
  return t;
}

export function renderTranscript(t: Transcript): string {
  const out = [...t.header];
  for (const s of t.steps) {
    out.push(`$ ${s.command}`, ...s.stdout, ...s.stderr.map((l) => (l === '' ? '!' : `! ${l}`)));
    if (s.exit !== 0) out.push(`[exit ${s.exit}]`);
  }
  return `${out.join('\n')}\n`;
}

/**
 * The kernel's stdout with every device number replaced by the device it stands for, as dmsim prints them
 * (the contract: devices print as the table named them): a `major:minor` word in tables and status lines,
 * `(major, minor)` in deps. `(253:0)` in `ls` is the device's own number, not a word, and stays.
 */
export function normaliseKernelStdout(step: Step): string[] {
  const name = (mm: string): string => step.devices.get(mm) ?? mm;
  return step.stdout.map((line) =>
    line
      .replace(/(?<=^|\s)(\d+:\d+)(?=\s|$)/g, (mm) => name(mm))
      .replace(/\((\d+), (\d+)\)/g, (whole, major: string, minor: string) => {
        const n = name(`${major}:${minor}`);
        return n === `${major}:${minor}` ? whole : `(${n})`;
      }),
  );
}

/**
 * Checks a dmsim transcript against the kernel's recording of the same commands; returns the
 * disagreements, one sentence each (empty when they agree).
 */
export function disagreements(dmsim: Transcript, kernel: Transcript): string[] {
  const problems: string[] = [];
  const ours = dmsim.steps.filter((s) => s.kernel !== 'dmsim-only');
  if (ours.length !== kernel.steps.length) {
    problems.push(
      `the kernel recording has ${kernel.steps.length} commands, the transcript ${ours.length} (re-record it)`,
    );
    return problems;
  }
  ours.forEach((s, i) => {
    const k = kernel.steps[i] as Step;
    if (k.command !== s.command) {
      problems.push(`command ${i + 1}: the kernel ran '${k.command}', the transcript '${s.command}' (re-record it)`);
      return;
    }
    if ((k.exit === 0) !== (s.exit === 0)) {
      problems.push(
        `'${s.command}': the kernel ${k.exit === 0 ? 'succeeded' : 'failed'}, dmsim ${s.exit === 0 ? 'succeeded' : 'failed'}`,
      );
    }
    const want = s.kernel === 'exact' ? k.stdout : normaliseKernelStdout(k);
    if ((s.kernel === 'compare' || s.kernel === 'exact') && want.join('\n') !== s.stdout.join('\n')) {
      problems.push(
        `'${s.command}': stdout differs\n--- kernel\n${want.join('\n')}\n--- dmsim\n${s.stdout.join('\n')}`,
      );
    }
    if (s.kernel === 'subset') {
      for (const line of s.stdout)
        if (!want.includes(line)) problems.push(`'${s.command}': the kernel never printed '${line}'`);
    }
  });
  return problems;
}
