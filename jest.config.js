// Jest 29 configuration: three projects (unit, int, e2e) sharing one SWC transform.
//
// The SWC options are given inline instead of reading `.swcrc`, because `.swcrc` excludes
// `*.spec.ts` (so the build skips tests) and would make @swc/jest refuse to compile them.
// Keep `jsc` in sync with `.swcrc`; the `@lapi/*` aliases are resolved by moduleNameMapper.

/** @type {import('@swc/core').Options} */
const swcOptions = {
  swcrc: false,
  sourceMaps: 'inline',
  module: { type: 'commonjs' },
  jsc: {
    target: 'es2022',
    parser: { syntax: 'typescript', decorators: true },
    transform: { legacyDecorator: true, decoratorMetadata: true },
    keepClassNames: true,
  },
};

const roots = ['<rootDir>/apps', '<rootDir>/libs', '<rootDir>/test'];
const ignored = ['/node_modules/', '<rootDir>/dist/'];

/** Settings shared by every project; `testTimeoutMs` is applied by test/jest-timeout.ts. */
function project(displayName, testMatch, testTimeoutMs, extraIgnored = []) {
  return {
    displayName,
    rootDir: __dirname,
    roots,
    testMatch,
    testPathIgnorePatterns: [...ignored, ...extraIgnored],
    modulePathIgnorePatterns: ['<rootDir>/dist/'],
    testEnvironment: 'node',
    transform: { '^.+\\.(t|j)s$': ['@swc/jest', swcOptions] },
    moduleFileExtensions: ['ts', 'js', 'json'],
    moduleNameMapper: {
      '^@lapi/([^/]+)$': '<rootDir>/libs/$1/src',
      '^@lapi/([^/]+)/(.+)$': '<rootDir>/libs/$1/src/$2',
    },
    // testTimeout is a global (not per-project) option in Jest 29, hence the setup file.
    globals: { __LAPI_TEST_TIMEOUT_MS__: testTimeoutMs },
    setupFilesAfterEnv: ['<rootDir>/test/jest-timeout.ts'],
  };
}

// PGlite's CommonJS build uses dynamic import(), which Jest's module VM only supports when node
// runs with --experimental-vm-modules; test/run-tests.js (npm test) passes it.
if (typeof require('node:vm').SourceTextModule !== 'function') {
  process.stderr.write(
    'jest.config.js: node runs without --experimental-vm-modules, so tests that open PGlite will crash; ' +
      'use `npm test -- <jest args>` or `node --experimental-vm-modules node_modules/jest/bin/jest.js`.\n',
  );
}

/** @type {import('jest').Config} */
module.exports = {
  projects: [
    project('unit', ['**/*.spec.ts'], 5_000, ['\\.int\\.spec\\.ts$', '\\.e2e\\.spec\\.ts$']),
    project('int', ['**/*.int.spec.ts'], 30_000),
    project('e2e', ['<rootDir>/test/e2e/**/*.e2e.spec.ts'], 180_000),
  ],
};
