// Per-project default test timeout (Jest 29 only has a global `testTimeout`).
// The value comes from the project's `globals` in jest.config.js. It overrides
// `--testTimeout`; a timeout passed to an individual `it(name, fn, ms)` still wins.
const ms = (globalThis as Record<string, unknown>).__LAPI_TEST_TIMEOUT_MS__;
if (typeof ms === 'number' && ms > 0) {
  jest.setTimeout(ms);
}

export {};
