import { ConfigError, loadConfig } from './config';

describe('LAPI_WORKER_METRICS_PORT', () => {
  it('is off unless set, and a port when set', () => {
    expect(loadConfig({}).workerMetricsPort).toBeUndefined();
    expect(loadConfig({ LAPI_WORKER_METRICS_PORT: '9100' }).workerMetricsPort).toBe(9100);
  });

  it('refuses what is not a port', () => {
    for (const bad of ['abc', '70000', '-1', '9100.5']) {
      expect(() => loadConfig({ LAPI_WORKER_METRICS_PORT: bad })).toThrow(ConfigError);
    }
  });
});
