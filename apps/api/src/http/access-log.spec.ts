import { accessLogLevel, formatAccessLog, type AccessLogEntry } from './access-log';

const entry: AccessLogEntry = {
  requestId: 'r-1',
  method: 'GET',
  route: '/v1/decisions',
  path: '/v1/decisions',
  status: 200,
  ms: 1.5,
  ip: '192.0.2.1',
  bouncer: 'fw',
};

describe('access log lines', () => {
  it('are objects for JSON collectors and one line for a terminal', () => {
    expect(formatAccessLog(entry, 'json')).toEqual({ msg: 'request', ...entry });
    expect(formatAccessLog(entry, 'pretty')).toBe('GET /v1/decisions 200 1.5 ms ip=192.0.2.1 bouncer=fw request=r-1');
  });

  it('keep probes at debug level', () => {
    expect(accessLogLevel('/health')).toBe('debug');
    expect(accessLogLevel('/v1/decisions')).toBe('log');
  });
});
