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
