/**
 * The project's import rule (README, "Project layout"): imports run one way, never in a cycle.
 *
 *   src/core          imports nothing of ours
 *   src/sim           core
 *   functions/<fn>    core, functions/shared and its own folder
 *   src/asl, src/provisioning, src/cost   core
 *   src/report        core, cost
 *   src/local         core, sim, functions, asl, provisioning
 *   infra             core, asl, provisioning
 *   src/console       core, report, cost, local; only the cli imports it
 *   src/cli           anything above but infra and bench; only bin imports the cli
 *
 * `test/architecture/imports.test.ts` runs these rules with dependency-cruiser and fails on any violation.
 */
const OURS = '^(src|functions|infra|bin|examples|test)/';
const outside = (...allowed) => ({ path: OURS, pathNot: allowed.map((folder) => `^${folder}/`) });

module.exports = {
  forbidden: [
    { name: 'no-cycles', severity: 'error', from: {}, to: { circular: true } },
    {
      name: 'core-imports-nothing-of-ours',
      severity: 'error',
      from: { path: '^src/core/' },
      to: outside('src/core'),
    },
    {
      name: 'sim-imports-only-core',
      severity: 'error',
      from: { path: '^src/sim/' },
      to: outside('src/core', 'src/sim'),
    },
    {
      name: 'functions-import-only-core-and-shared',
      severity: 'error',
      from: { path: '^functions/([^/]+)/' },
      to: { path: OURS, pathNot: ['^src/core/', '^functions/shared/', '^functions/$1/'] },
    },
    {
      name: 'asl-imports-only-core',
      severity: 'error',
      from: { path: '^src/asl/' },
      to: outside('src/core', 'src/asl'),
    },
    {
      name: 'provisioning-imports-only-core',
      severity: 'error',
      from: { path: '^src/provisioning/' },
      to: outside('src/core', 'src/provisioning'),
    },
    {
      name: 'cost-imports-only-core',
      severity: 'error',
      from: { path: '^src/cost/' },
      to: outside('src/core', 'src/cost'),
    },
    {
      name: 'report-imports-core-and-cost',
      severity: 'error',
      from: { path: '^src/report/' },
      to: outside('src/core', 'src/cost', 'src/report'),
    },
    {
      name: 'local-imports-the-layers-below',
      severity: 'error',
      from: { path: '^src/local/' },
      to: outside('src/core', 'src/sim', 'functions', 'src/asl', 'src/provisioning', 'src/local'),
    },
    {
      name: 'infra-imports-core-asl-provisioning',
      severity: 'error',
      from: { path: '^infra/' },
      to: outside('src/core', 'src/asl', 'src/provisioning', 'infra'),
    },
    {
      name: 'console-imports-core-report-cost-local',
      severity: 'error',
      from: { path: '^src/console/' },
      to: outside('src/core', 'src/report', 'src/cost', 'src/local', 'src/console'),
    },
    {
      name: 'only-the-cli-imports-the-console',
      severity: 'error',
      from: { pathNot: '^src/(cli|console)/' },
      to: { path: '^src/console/' },
    },
    {
      name: 'cli-never-imports-infra-or-bench',
      severity: 'error',
      from: { path: '^src/cli/' },
      to: { path: '^(infra|src/bench|test)/' },
    },
    {
      name: 'only-bin-imports-the-cli',
      severity: 'error',
      from: { pathNot: '^(src/cli|bin)/' },
      to: { path: '^src/cli/' },
    },
    {
      name: 'no-test-code-in-the-product',
      severity: 'error',
      from: { pathNot: '^test/' },
      to: { path: '^test/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|cdk\\.out)' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
