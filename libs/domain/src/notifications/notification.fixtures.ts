import type { NotificationAlert } from './alert-model';

// Alerts for the notification tests (not used by production code). SSH_BF is the example alert of CrowdSec's
// documentation (local_api/notification_plugins/intro.md), cut to two events.

const sshMeta = (user: string) => [
  { key: 'ASNNumber', value: '15169' },
  { key: 'ASNOrg', value: 'Google LLC' },
  { key: 'IsoCode', value: 'US' },
  { key: 'service', value: 'ssh' },
  { key: 'source_ip', value: '35.188.49.176' },
  { key: 'target_user', value: user },
];

export const SSH_BF: NotificationAlert = {
  machineId: '4e1c7990a4af460a9c622d2c80a856334U2v5NbKX14uQKFa',
  alert: {
    scenario: 'crowdsecurity/ssh-bf',
    scenarioHash: '4441dcff07020f6690d998b7101e642359ba405c2abb83565bbbdcee36de280f',
    scenarioVersion: '0.1',
    message: "Ip 35.188.49.176 performed 'crowdsecurity/ssh-bf' (6 events over 2s) at 2022-02-12 14:10:23 +0000 UTC",
    eventsCount: 6,
    startAt: '2022-02-12T14:10:21Z',
    stopAt: '2022-02-12T14:10:23Z',
    capacity: 5,
    leakspeed: '10s',
    simulated: false,
    remediation: true,
    events: [
      { timestamp: '2022-02-12T14:10:23Z', meta: sshMeta('pascal') },
      { timestamp: '2022-02-12T14:10:23Z', meta: sshMeta('root') },
    ],
    source: {
      scope: 'Ip',
      value: '35.188.49.176',
      ip: '35.188.49.176',
      range: '35.184.0.0/13',
      asNumber: '15169',
      asName: 'Google LLC',
      cn: 'US',
      latitude: 37.4192,
      longitude: -122.0574,
    },
    meta: [],
    labels: null,
  },
  decisions: [
    {
      duration: '4h',
      origin: 'crowdsec',
      scenario: 'crowdsecurity/ssh-bf',
      scope: 'Ip',
      type: 'ban',
      value: '35.188.49.176',
    },
  ],
};

/** What `cscli decisions add -i 1.2.3.4 -d 24h` posts: no country, two decisions for the test of ranges. */
export const CSCLI_BAN: NotificationAlert = {
  machineId: 'localhost',
  createdAt: '2024-05-01T10:00:00Z',
  alert: {
    scenario: "manual 'ban' from 'localhost'",
    scenarioHash: '',
    scenarioVersion: '',
    message: "manual 'ban' from 'localhost'",
    eventsCount: 1,
    startAt: '2024-05-01T10:00:00Z',
    stopAt: '2024-05-01T10:00:00Z',
    capacity: 0,
    leakspeed: '0',
    simulated: false,
    remediation: true,
    events: [],
    source: { scope: 'Ip', value: '1.2.3.4', ip: '1.2.3.4' },
    meta: [{ key: 'note', value: 'a "quoted" <b>note</b> & more' }],
    labels: ['manual', 'cli'],
  },
  decisions: [
    {
      duration: '24h',
      origin: 'cscli',
      scenario: "manual 'ban' from 'localhost'",
      scope: 'Ip',
      type: 'ban',
      value: '1.2.3.4',
    },
    {
      duration: '1h',
      origin: 'cscli',
      scenario: "manual 'ban' from 'localhost'",
      scope: 'Ip',
      type: 'captcha',
      value: '1.2.3.4',
    },
  ],
};

/** A simulated Range alert that matched a profile without decisions: `decisions` is null. */
export const SIMULATED_RANGE: NotificationAlert = {
  machineId: 'agent-2',
  id: 42,
  uuid: '7b0c5e0e-0000-4000-8000-000000000001',
  alert: {
    scenario: 'crowdsecurity/http-probing',
    scenarioHash: 'abc',
    scenarioVersion: '0.4',
    message: 'Range 10.0.0.0/8 performed <probing> & "more"\u2028end',
    eventsCount: 11,
    startAt: '2024-05-01T10:00:00.123456Z',
    stopAt: '2024-05-01T10:00:30Z',
    capacity: 10,
    leakspeed: '1s',
    simulated: true,
    remediation: false,
    events: [{ timestamp: '2024-05-01T10:00:01Z', meta: [] }],
    source: { scope: 'Range', value: '10.0.0.0/8', range: '10.0.0.0/8', latitude: 0.5, longitude: 1e-7 },
    meta: [],
    labels: [],
    kind: 'crowdsec',
  },
  decisions: null,
};
