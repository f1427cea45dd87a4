import { deciderSpec } from '@lapi/testing';
import {
  bouncerInstanceName,
  decideBouncer,
  evolveBouncer,
  instanceStreamKey,
  MAX_INSTANCES,
  MAX_NEW_INSTANCES_PER_WINDOW,
  NEW_INSTANCE_WINDOW_MS,
  type BouncerCommand,
  type BouncerEvent,
  type BouncerState,
} from '..';

const now = new Date('2026-11-29T03:00:00.000Z');
const at = now.toISOString();
const spec = (clock = now) =>
  deciderSpec<BouncerState, BouncerCommand, BouncerEvent>({
    decide: decideBouncer,
    evolve: evolveBouncer,
    initial: null,
    now: clock,
  });
const added: BouncerEvent = { type: 'BouncerAdded', data: { name: 'ingress', apiKeyHash: 'ab'.repeat(64), at } };
const UA = 'crowdsec-nginx-bouncer/v1.0.8';
const seenFirst: BouncerEvent = {
  type: 'BouncerSeen',
  data: { name: 'ingress', ipAddress: '10.0.0.1', type: 'crowdsec-nginx-bouncer', version: 'v1.0.8', lastPull: at, at },
};
const sighting = (ip: string, over: { ua?: string; instanceId?: string } = {}): BouncerCommand => ({
  type: 'RecordBouncerSighting',
  data: { name: 'ingress', sighting: { ipAddress: ip, userAgent: over.ua ?? UA, instanceId: over.instanceId } },
});
const instanceSeen = (instance: string, ip: string, version = 'v1.0.8', when = at): BouncerEvent => ({
  type: 'BouncerInstanceSeen',
  data: { name: 'ingress', instance, ipAddress: ip, type: 'crowdsec-nginx-bouncer', version, at: when },
});

describe('bouncer instances', () => {
  it('names the process as the reference names its rows: first address the bouncer, others name@ip', () => {
    const fresh = { name: 'ingress', ipAddress: '' };
    const seen = { name: 'ingress', ipAddress: '10.0.0.1' };
    expect(bouncerInstanceName(fresh, { ipAddress: '10.0.0.2' })).toBe('ingress');
    expect(bouncerInstanceName(seen, { ipAddress: '10.0.0.1' })).toBe('ingress');
    expect(bouncerInstanceName(seen, { ipAddress: '10.0.0.2' })).toBe('ingress@10.0.0.2');
    expect(bouncerInstanceName(seen, { ipAddress: '10.0.0.1', instanceId: 'pod-7' })).toBe('ingress@pod-7');
    expect(bouncerInstanceName(fresh, { ipAddress: '10.0.0.1', instanceId: 'pod-7' })).toBe('ingress@pod-7');
  });

  it("keys an instance's position apart from any bouncer name", () => {
    expect(instanceStreamKey('ingress', 'ingress')).toBe('ingress');
    expect(instanceStreamKey('ingress', 'ingress@10.0.0.2')).toBe('ingress\u001f10.0.0.2');
    expect(instanceStreamKey('ingress', 'ingress@pod-b')).not.toBe('ingress@pod-b');
  });

  it('keeps the first address on the bouncer and records another one as an instance, once', () => {
    spec()
      .given([added, seenFirst])
      .when(sighting('10.0.0.2'))
      .then([instanceSeen('ingress@10.0.0.2', '10.0.0.2')]);
    spec()
      .given([added, seenFirst, instanceSeen('ingress@10.0.0.2', '10.0.0.2')])
      .when(sighting('10.0.0.2'))
      .then([]);
  });

  it('records an instance again when its version changes, and a named instance by its id', () => {
    spec()
      .given([added, seenFirst, instanceSeen('ingress@10.0.0.2', '10.0.0.2')])
      .when(sighting('10.0.0.2', { ua: 'crowdsec-nginx-bouncer/v1.0.9' }))
      .then([instanceSeen('ingress@10.0.0.2', '10.0.0.2', 'v1.0.9')]);
    spec()
      .given([added, seenFirst])
      .when(sighting('10.0.0.1', { instanceId: 'pod-b' }))
      .then([instanceSeen('ingress@pod-b', '10.0.0.1')]);
  });

  it("writes nothing for an instance's pull, however late (its time is its stream position's)", () => {
    spec(new Date(now.getTime() + 86_400_000))
      .given([added, seenFirst, instanceSeen('ingress@10.0.0.2', '10.0.0.2')])
      .when(sighting('10.0.0.2'))
      .then([]);
  });

  it('lists instances with their first sighting, drops the least recently changed past the cap, and deletes them with the bouncer', () => {
    const later = new Date(now.getTime() + 60_000).toISOString();
    const state = [
      added,
      seenFirst,
      instanceSeen('ingress@10.0.0.2', '10.0.0.2'),
      instanceSeen('ingress@10.0.0.2', '10.0.0.2', 'v2', later),
    ].reduce<BouncerState>(evolveBouncer, null);
    expect(state?.instances).toEqual([
      {
        name: 'ingress@10.0.0.2',
        ipAddress: '10.0.0.2',
        type: 'crowdsec-nginx-bouncer',
        version: 'v2',
        firstSeen: at,
        updatedAt: later,
      },
    ]);
    const many = Array.from({ length: MAX_INSTANCES + 2 }, (_, i) => instanceSeen(`ingress@pod-${i}`, '10.0.0.3'));
    const capped = [added, ...many].reduce<BouncerState>(evolveBouncer, null);
    expect(capped?.instances).toHaveLength(MAX_INSTANCES);
    expect(capped?.instances[0].name).toBe('ingress@pod-2');
    expect(evolveBouncer(state, { type: 'BouncerDeleted', data: { name: 'ingress', at } })).toBeNull();
  });

  it('adds at most MAX_NEW_INSTANCES_PER_WINDOW new instances a window; known ones are still recorded', () => {
    const full = Array.from({ length: MAX_NEW_INSTANCES_PER_WINDOW }, (_, i) =>
      instanceSeen(`ingress@pod-${i}`, '10.0.0.3'),
    );
    // Within the window: a new id, or a new address, adds nothing.
    spec()
      .given([added, seenFirst, ...full])
      .when(sighting('10.0.0.3', { instanceId: 'fresh' }))
      .then([]);
    spec()
      .given([added, seenFirst, ...full])
      .when(sighting('10.0.0.9'))
      .then([]);
    // A known one still records its change.
    spec()
      .given([added, seenFirst, ...full])
      .when(sighting('10.0.0.3', { instanceId: 'pod-0', ua: 'crowdsec-nginx-bouncer/v1.0.9' }))
      .then([instanceSeen('ingress@pod-0', '10.0.0.3', 'v1.0.9')]);
    // One window later the new one is recorded (its next pull).
    const later = new Date(now.getTime() + NEW_INSTANCE_WINDOW_MS);
    spec(later)
      .given([added, seenFirst, ...full])
      .when(sighting('10.0.0.3', { instanceId: 'fresh' }))
      .then([instanceSeen('ingress@fresh', '10.0.0.3', 'v1.0.8', later.toISOString())]);
  });
});
