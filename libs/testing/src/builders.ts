import type { AlertInput } from '@lapi/domain';

/** A complete alert with no decisions, stopped now unless said otherwise. */
export const anAlert = (over: Partial<AlertInput> = {}): AlertInput => ({
  scenario: 'crowdsecurity/test',
  scenarioHash: '',
  scenarioVersion: '',
  message: '',
  eventsCount: 1,
  startAt: new Date().toISOString(),
  stopAt: new Date().toISOString(),
  capacity: 0,
  leakspeed: '',
  simulated: false,
  remediation: false,
  events: [],
  source: { scope: 'Ip', value: '' },
  decisions: null,
  meta: [],
  labels: null,
  ...over,
});

/** An agent's alert on the wire (`POST /v1/alerts` item) with no decisions: the profiles decide what to do. */
export const agentAlertBody = (ip: string, scenario = 'crowdsecurity/ssh-bf') => ({
  capacity: 5,
  decisions: null,
  events: [],
  events_count: 6,
  labels: null,
  leakspeed: '10s',
  message: '',
  remediation: true,
  scenario,
  scenario_hash: '',
  scenario_version: '',
  simulated: false,
  source: { ip, scope: 'Ip', value: ip },
  start_at: new Date().toISOString(),
  stop_at: new Date().toISOString(),
});
