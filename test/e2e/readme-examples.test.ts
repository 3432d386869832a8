// The README's "Use dmsim in your tests" examples, run exactly as printed, as a new user would: the project is
// packed with `npm pack`, the tarball installed into a new scratch project (dependencies from npm's cache), and
// there the TypeScript example runs under vitest with only the public imports, the bash example runs against
// the installed `dmsim` command, a packaged lesson plays with `npx dmsim run`, and `npx dmsim --version` answers.

import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DMSIM_VERSION } from '../../src/base/version.js';
import { REPO } from './cli-harness.js';

const run = promisify(execFile);
const SECTION = '## Use dmsim in your tests';

/** The first fenced block of `lang` in the README's section. */
async function readmeBlock(lang: string): Promise<string> {
  const readme = await readFile(join(REPO, 'README.md'), 'utf8');
  const start = readme.indexOf(SECTION);
  expect(start, `README has a "${SECTION}" section`).toBeGreaterThanOrEqual(0);
  const section = readme.slice(start, readme.indexOf('\n## ', start + SECTION.length));
  const m = new RegExp(`\`\`\`${lang}\\n([\\s\\S]*?)\`\`\``).exec(section);
  expect(m, `the section has a \`\`\`${lang} block`).not.toBeNull();
  return m![1]!;
}

let scratch = '';
/** Runs a command in the scratch project with its node_modules/.bin first on PATH. */
function inScratch(file: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  return run(file, args, {
    cwd: scratch,
    env: { ...process.env, PATH: `${join(scratch, 'node_modules', '.bin')}:${process.env.PATH}`, ...env },
    maxBuffer: 16 * 1024 * 1024,
  });
}

beforeAll(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'dmsim-scratch-'));
  await run('npm', ['pack', '--silent', '--pack-destination', scratch], { cwd: REPO, maxBuffer: 16 * 1024 * 1024 });
  const tarball = (await readdir(scratch)).find((f) => f.endsWith('.tgz'))!;
  const vitest = JSON.parse(await readFile(join(REPO, 'node_modules', 'vitest', 'package.json'), 'utf8')) as {
    version: string;
  };
  await writeFile(join(scratch, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  await inScratch('npm', [
    'install',
    '--prefer-offline',
    '--no-audit',
    '--no-fund',
    `./${tarball}`,
    `vitest@${vitest.version}`,
  ]);
}, 600_000);
afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

describe('the packed package in a new project', () => {
  it('ships the lessons and their schema, and no TypeScript sources or tests', async () => {
    const pkg = join(scratch, 'node_modules', 'dmsim');
    const lessons = await readdir(join(pkg, 'fixtures', 'lessons'));
    expect(lessons).toContain('SCHEMA.md');
    expect(lessons.filter((f) => f.endsWith('.json')).length).toBeGreaterThanOrEqual(8);
    expect(await readdir(pkg)).not.toContain('test');
    expect(await readdir(join(pkg, 'dist', 'src', 'cli'))).toContain('main.js');
  });

  it('runs the README TypeScript example under vitest with the public imports only', async () => {
    await writeFile(join(scratch, 'snapshot.test.ts'), await readmeBlock('ts'));
    const { stdout } = await inScratch('npx', ['vitest', 'run', '--reporter=verbose'], { CI: 'true' });
    expect(stdout).toMatch(/1 passed/);
  }, 300_000);

  it('runs the README bash example against the installed dmsim command', async () => {
    const { stdout } = await inScratch('bash', ['-c', await readmeBlock('sh')]);
    expect(stdout).toContain('snapshot flow ok');
  }, 300_000);

  it('plays a packaged lesson with npx dmsim run and answers npx dmsim --version', async () => {
    const lesson = join('node_modules', 'dmsim', 'fixtures', 'lessons', '02-snapshot-cow.json');
    const played = await inScratch('npx', ['dmsim', 'run', lesson]);
    expect(played.stdout).toMatch(/^ok /m);
    expect(played.stdout).not.toMatch(/^not ok /m);
    const version = await inScratch('npx', ['dmsim', '--version']);
    expect(version.stdout.trim()).toBe(DMSIM_VERSION);
  }, 300_000);
});
