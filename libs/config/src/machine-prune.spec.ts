import { loadConfig } from './config';

describe('LAPI_MACHINES_PRUNE_NOT_SEEN', () => {
  it('is off by default and read as milliseconds into the autodelete policy', () => {
    expect(loadConfig({}).retention.autodelete.machines.notSeen).toBeUndefined();
    expect(loadConfig({ LAPI_MACHINES_PRUNE_NOT_SEEN: '1h' }).retention.autodelete.machines.notSeen).toBe(3_600_000);
  });

  it('refuses less than 5m, as the other autodelete durations', () => {
    expect(() => loadConfig({ LAPI_MACHINES_PRUNE_NOT_SEEN: '2m' })).toThrow(
      /LAPI_MACHINES_PRUNE_NOT_SEEN: must be at least 5m/,
    );
    expect(() => loadConfig({ LAPI_MACHINES_PRUNE_NOT_SEEN: 'soon' })).toThrow(/LAPI_MACHINES_PRUNE_NOT_SEEN/);
  });
});
