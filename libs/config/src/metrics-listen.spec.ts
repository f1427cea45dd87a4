import { ConfigError, loadConfig } from './config';

describe('LAPI_METRICS_LISTEN_URI', () => {
  it("defaults to the reference's Prometheus address, takes another, and is off when empty", () => {
    expect(loadConfig({}).metricsListen).toEqual({ host: '127.0.0.1', port: 6060 });
    expect(loadConfig({ LAPI_METRICS_LISTEN_URI: '0.0.0.0:9464' }).metricsListen).toEqual({
      host: '0.0.0.0',
      port: 9464,
    });
    expect(loadConfig({ LAPI_METRICS_LISTEN_URI: '[::1]:6061' }).metricsListen).toEqual({ host: '::1', port: 6061 });
    expect(loadConfig({ LAPI_METRICS_LISTEN_URI: '' }).metricsListen).toBeUndefined();
  });

  it('refuses what is not HOST:PORT', () => {
    for (const bad of ['6060', 'localhost', '127.0.0.1:70000', ':6060']) {
      expect(() => loadConfig({ LAPI_METRICS_LISTEN_URI: bad })).toThrow(/LAPI_METRICS_LISTEN_URI/);
    }
  });

  it('still reads LAPI_WORKER_METRICS_PORT as every interface on that port, but not beside its replacement', () => {
    expect(loadConfig({ LAPI_WORKER_METRICS_PORT: '9100' }).metricsListen).toEqual({ host: '0.0.0.0', port: 9100 });
    for (const bad of ['abc', '70000', '-1', '9100.5']) {
      expect(() => loadConfig({ LAPI_WORKER_METRICS_PORT: bad })).toThrow(ConfigError);
    }
    expect(() => loadConfig({ LAPI_WORKER_METRICS_PORT: '9100', LAPI_METRICS_LISTEN_URI: '127.0.0.1:6060' })).toThrow(
      /LAPI_WORKER_METRICS_PORT: replaced by LAPI_METRICS_LISTEN_URI/,
    );
  });
});
