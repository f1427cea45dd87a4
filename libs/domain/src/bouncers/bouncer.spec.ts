import { deciderSpec } from '@lapi/testing';
import {
  BouncerAlreadyExistsError,
  BouncerAuthTypeMismatchError,
  BouncerNotFoundError,
  bouncerTypeAndVersion,
  decideBouncer,
  evolveBouncer,
  inactiveBouncers,
  latestPull,
  type Bouncer,
  type BouncerCommand,
  type BouncerEvent,
  type BouncerState,
} from '..';

const now = new Date('2026-11-28T20:00:00.000Z');
const at = now.toISOString();
const spec = (clock = now) =>
  deciderSpec<BouncerState, BouncerCommand, BouncerEvent>({
    decide: decideBouncer,
    evolve: evolveBouncer,
    initial: null,
    now: clock,
  });

const added: BouncerEvent = {
  type: 'BouncerAdded',
  data: { name: 'fw', apiKeyHash: 'ab'.repeat(64), authType: 'api-key', at },
};
const seen = (over: Partial<Extract<BouncerEvent, { type: 'BouncerSeen' }>['data']> = {}): BouncerEvent => ({
  type: 'BouncerSeen',
  data: {
    name: 'fw',
    ipAddress: '10.0.0.5',
    type: 'crowdsec-firewall-bouncer',
    version: '-',
    lastPull: null,
    at,
    ...over,
  },
});
const sighting = (ua = 'crowdsec-firewall-bouncer/-', ip = '10.0.0.5'): BouncerCommand => ({
  type: 'RecordBouncerSighting',
  data: { name: 'fw', sighting: { ipAddress: ip, userAgent: ua } },
});

describe('bouncer decider', () => {
  it('adds a bouncer once', () => {
    const add: BouncerCommand = { type: 'AddBouncer', data: { name: 'fw', apiKeyHash: 'ab'.repeat(64) } };
    spec().given([]).when(add).then([added]);
    spec().given([added]).when(add).thenThrows(BouncerAlreadyExistsError);
  });

  it('adds a certificate bouncer on first use, then records nothing; never takes over an API-key bouncer', () => {
    const byCert: BouncerCommand = { type: 'AddCertificateBouncer', data: { name: 'fw', apiKeyHash: 'cd'.repeat(64) } };
    const tlsAdded: BouncerEvent = {
      type: 'BouncerAdded',
      data: { name: 'fw', apiKeyHash: 'cd'.repeat(64), authType: 'tls', at },
    };
    spec().given([]).when(byCert).then([tlsAdded]);
    spec().given([tlsAdded]).when(byCert).then([]);
    spec()
      .given([added])
      .when(byCert)
      .thenThrows(BouncerAuthTypeMismatchError, "bouncer 'fw' isn't allowed to auth by TLS");
    expect(evolveBouncer(null, tlsAdded)?.authType).toBe('tls');
  });

  it('reads bouncers added before client certificates as API-key bouncers', () => {
    const legacy: BouncerEvent = { type: 'BouncerAdded', data: { name: 'fw', apiKeyHash: 'ab'.repeat(64), at } };
    expect(evolveBouncer(null, legacy)?.authType).toBe('api-key');
  });

  it('records the first sighting with IP, type and version from the User-Agent', () => {
    spec().given([added]).when(sighting()).then([seen()]);
  });

  it('records nothing for a pull that changes nothing, however late: a pull is not an event', () => {
    spec(new Date(now.getTime() + 86_400_000))
      .given([added, seen()])
      .when(sighting())
      .then([]);
  });

  it('records a new User-Agent at once, keeping the last_pull recorded before pulls stopped being events', () => {
    const legacy = seen({ lastPull: '2026-11-28T19:00:00.000Z' });
    spec()
      .given([added, legacy])
      .when(sighting('custom/1.0', '10.0.0.5'))
      .then([seen({ type: 'custom', version: '1.0', lastPull: '2026-11-28T19:00:00.000Z' })]);
  });

  it("takes the latest of a bouncer's pull times", () => {
    expect(latestPull([null, '2026-11-28T19:00:00.000Z', undefined, '2026-11-28T20:00:00.000Z'])).toBe(
      '2026-11-28T20:00:00.000Z',
    );
    expect(latestPull(['2026-11-28T21:00:00.000Z', '2026-11-28T20:00:00.000Z'])).toBe('2026-11-28T21:00:00.000Z');
    expect(latestPull([null, undefined])).toBeNull();
  });

  it('refuses to record or delete an unknown bouncer', () => {
    spec().given([]).when(sighting()).thenThrows(BouncerNotFoundError);
    spec()
      .given([])
      .when({ type: 'DeleteBouncer', data: { name: 'fw' } })
      .thenThrows(BouncerNotFoundError);
  });

  it('splits the User-Agent as the reference does', () => {
    expect(bouncerTypeAndVersion('crowdsec-firewall-bouncer/v0.0.25')).toEqual({
      type: 'crowdsec-firewall-bouncer',
      version: 'v0.0.25',
    });
    expect(bouncerTypeAndVersion('curl')).toEqual({ type: 'curl', version: 'N/A' });
    expect(bouncerTypeAndVersion('a/b/c')).toEqual({ type: 'a/b/c', version: 'N/A' });
    expect(bouncerTypeAndVersion(undefined)).toEqual({ type: '', version: 'N/A' });
  });
});

describe('inactiveBouncers', () => {
  const bouncer = (name: string, createdAt: string, lastPull: string | null, instances: string[] = []): Bouncer =>
    ({
      name,
      createdAt,
      lastPull,
      instances: instances.map((i) => ({ name: i })),
    }) as unknown as Bouncer;
  const since = new Date('2026-01-01T12:00:00.000Z');

  it('selects the bouncers none of whose processes pulled since the time given', () => {
    const bouncers = [
      bouncer('old', '2025-01-01T00:00:00.000Z', '2026-01-01T10:00:00.000Z'),
      bouncer('fresh', '2025-01-01T00:00:00.000Z', '2026-01-01T10:00:00.000Z'),
      bouncer('pod-pulls', '2025-01-01T00:00:00.000Z', null, ['pod-pulls@pod']),
      bouncer('never-old', '2026-01-01T11:00:00.000Z', null),
      bouncer('never-new', '2026-01-01T12:30:00.000Z', null),
    ];
    const pulls = new Map([
      ['fresh', '2026-01-01T12:10:00.000Z'],
      ['pod-pulls\u001fpod', '2026-01-01T12:05:00.000Z'],
    ]);
    expect(inactiveBouncers(bouncers, pulls, since)).toEqual([
      { name: 'old', lastPull: '2026-01-01T10:00:00.000Z' },
      { name: 'never-old', lastPull: null },
    ]);
  });
});

describe('importing a bouncer from CrowdSec', () => {
  const imported = {
    name: 'fw',
    apiKeyHash: 'cd'.repeat(64),
    authType: 'api-key' as const,
    ipAddress: '10.0.0.3',
    type: 'crowdsec-firewall-bouncer',
    version: 'v0.0.25',
    createdAt: '2026-01-01T00:00:00.000Z',
    lastPull: '2026-01-02T00:00:00.000Z',
  };
  const importIt: BouncerCommand = { type: 'ImportBouncer', data: { bouncer: imported } };

  it('keeps the key hash as stored', () => {
    spec()
      .given([])
      .when(importIt)
      .then([{ type: 'BouncerImported', data: { ...imported, at } }]);
    expect(evolveBouncer(null, { type: 'BouncerImported', data: { ...imported, at } })).toMatchObject({
      apiKeyHash: 'cd'.repeat(64),
      lastPull: '2026-01-02T00:00:00.000Z',
      createdAt: '2026-01-01T00:00:00.000Z',
    });
  });

  it('changes nothing the second time', () => {
    spec()
      .given([{ type: 'BouncerImported', data: { ...imported, at } }])
      .when(importIt)
      .then([]);
  });

  it('refuses to replace a bouncer of that name with another key', () => {
    spec().given([added]).when(importIt).thenThrows(BouncerAlreadyExistsError);
  });
});
