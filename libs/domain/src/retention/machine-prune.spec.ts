import { isPrunableMachine, machineLastSeen, type MachinePruneFacts } from './retention';

const now = new Date('2026-11-29T02:00:00Z');
const minutesAgo = (m: number) => new Date(now.getTime() - m * 60_000);
const machine = (over: Partial<MachinePruneFacts> = {}): MachinePruneFacts => ({
  ipAddress: '10.0.0.1',
  validated: true,
  lastHeartbeat: null,
  updatedAt: minutesAgo(90),
  ...over,
});
const hour = { notSeenMs: 60 * 60_000, notValidatedOnly: false };

describe('machine prune rule', () => {
  it('sees a machine at its later heartbeat or update', () => {
    expect(machineLastSeen(machine())).toEqual(minutesAgo(90));
    expect(machineLastSeen(machine({ lastHeartbeat: minutesAgo(5) }))).toEqual(minutesAgo(5));
    expect(machineLastSeen(machine({ lastHeartbeat: minutesAgo(120) }))).toEqual(minutesAgo(90));
  });

  it('prunes a machine not seen for the duration, with or without a heartbeat, validated or not', () => {
    expect(isPrunableMachine(machine(), hour, now)).toBe(true);
    expect(isPrunableMachine(machine({ validated: false }), hour, now)).toBe(true);
    expect(isPrunableMachine(machine({ lastHeartbeat: minutesAgo(61) }), hour, now)).toBe(true);
    expect(isPrunableMachine(machine({ updatedAt: minutesAgo(60) }), hour, now)).toBe(true); // at the cutoff
  });

  it('keeps a machine seen within the duration: heartbeat, login or registration', () => {
    expect(isPrunableMachine(machine({ lastHeartbeat: minutesAgo(59) }), hour, now)).toBe(false);
    expect(isPrunableMachine(machine({ updatedAt: minutesAgo(59) }), hour, now)).toBe(false);
  });

  it('keeps validated machines with notValidatedOnly, and the local agent always', () => {
    expect(isPrunableMachine(machine(), { ...hour, notValidatedOnly: true }, now)).toBe(false);
    expect(isPrunableMachine(machine({ validated: false }), { ...hour, notValidatedOnly: true }, now)).toBe(true);
    expect(isPrunableMachine(machine({ ipAddress: '127.0.0.1' }), hour, now)).toBe(false);
    expect(isPrunableMachine(machine({ ipAddress: '::1' }), hour, now)).toBe(false);
  });
});
