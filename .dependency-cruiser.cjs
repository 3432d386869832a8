// The house's layering rules (DESIGN.md "The house"): imports point down only. `npm test` runs this; a
// wrong import fails CI. Tiers, top to bottom: cli; tui; testing; control, scenario, nbd; targets; dm; kcopyd;
// persistent-data; block, net; base.

/** A rule forbidding `from` to import anything under the listed dmsim rooms. */
const forbid = (name, comment, from, rooms) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from },
  to: { path: `^(${rooms.join('|')})/` },
});

module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      comment: 'an import cycle ties two modules into one: split out what both need',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    forbid('base-imports-nothing', 'src/base is the floor: errors, the event bus, the clock, sizes', '^src/base/', [
      'src/(?!base)[^/]+',
      'targets',
      'tui',
    ]),
    forbid('block-and-net-over-base', 'devices and sockets know only base', '^src/(block|net)/', [
      'src/(kcopyd|dm|control|scenario|nbd|cli)',
      'src/index\\.ts$',
      'targets',
      'tui',
    ]),
    forbid(
      'persistent-data-over-block',
      'the persistent-data library (btrees, space maps, transactions) knows only block devices and base; targets use it',
      '^src/persistent-data/',
      ['src/(?!base|block|persistent-data)[^/]+', 'src/index\\.ts$', 'targets', 'tui'],
    ),
    forbid('kcopyd-over-block', 'kcopyd copies between block devices and knows no mapped device', '^src/kcopyd/', [
      'src/(dm|net|control|scenario|nbd|cli)',
      'targets',
      'tui',
    ]),
    forbid('dm-imports-no-target', 'the dm core is handed a target registry; it never imports a target', '^src/dm/', [
      'src/(net|control|scenario|nbd|cli)',
      'targets',
      'tui',
    ]),
    forbid('targets-over-dm', 'targets stand on the dm core, kcopyd and block devices', '^targets/', [
      'src/(net|control|scenario|nbd|cli)',
      'tui',
    ]),
    forbid('nbd-knows-no-daemon', 'the NBD server exports mapped devices and knows no daemon', '^src/nbd/', [
      'src/(control|scenario|cli)',
      'tui',
    ]),
    forbid(
      'control-below-ui',
      'the daemon hosts NBD exports and defines the command grammar; it knows no lesson, CLI or UI',
      '^src/control/',
      ['src/(scenario|cli)', 'tui'],
    ),
    forbid(
      'scenario-below-ui',
      'lessons drive an engine or a daemon, never the command line or the UI',
      '^src/scenario/',
      ['src/cli', 'tui'],
    ),
    forbid(
      'testing-below-ui',
      'dmsim/testing gives tests a private DeviceMapper; it may use the whole library but not the command line or the UI',
      '^src/testing/',
      ['src/cli', 'tui'],
    ),
    forbid(
      'only-tests-import-testing',
      "the test fixture is for users' tests: the product never imports it",
      '^(?!src/testing/)(src|targets|tui)/',
      ['src/testing'],
    ),
    forbid('only-cli-imports-cli', 'the command line is the top: nothing but cli imports it', '^(?!src/cli/)', [
      'src/cli',
    ]),
    {
      name: 'no-test-code-in-product',
      comment: 'product code never imports tests, fixtures or benchmarks',
      severity: 'error',
      from: { path: '^(src|targets|tui)/' },
      to: { path: '^(test|bench|fixtures)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { extensions: ['.ts', '.tsx', '.js'] },
  },
};
