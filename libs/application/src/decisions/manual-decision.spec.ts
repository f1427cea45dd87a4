import { ValidationError } from '@lapi/domain';
import { manualDecisionAlert } from './manual-decision';

const NOW = new Date('2026-12-01T10:00:00Z');

describe('manualDecisionAlert (`lapi decisions add`, as cscli 1.4.6 builds it)', () => {
  it('makes one alert carrying one decision, with cscli defaults', () => {
    const alert = manualDecisionAlert({ ip: '192.0.2.7' }, NOW);
    expect(alert.decisions).toEqual([
      {
        duration: '4h',
        scope: 'Ip',
        value: '192.0.2.7',
        type: 'ban',
        scenario: "manual 'ban' from 'lapi'",
        origin: 'cscli',
      },
    ]);
    expect(alert).toMatchObject({
      scenario: "manual 'ban' from 'lapi'",
      message: "manual 'ban' from 'lapi'",
      eventsCount: 1,
      leakspeed: '0',
      startAt: NOW.toISOString(),
      source: { scope: 'Ip', value: '192.0.2.7', ip: '192.0.2.7' },
    });
  });

  it('takes a range, or a scope and a value (scope names normalised), and the other flags', () => {
    expect(manualDecisionAlert({ range: '198.51.100.0/24', type: 'captcha' }, NOW).decisions![0]).toMatchObject({
      scope: 'Range',
      value: '198.51.100.0/24',
      type: 'captcha',
      scenario: "manual 'captcha' from 'lapi'",
    });
    expect(
      manualDecisionAlert({ scope: 'username', value: 'root', duration: '1h30m', reason: 'brute force' }, NOW)
        .decisions![0],
    ).toMatchObject({ scope: 'username', value: 'root', duration: '1h30m', scenario: 'brute force' });
    expect(manualDecisionAlert({ scope: 'range', value: '2001:db8::/32' }, NOW).decisions![0].scope).toBe('Range');
  });

  it.each([
    [{ ip: '1.2.3' }, "1.2.3 isn't a valid ip"],
    [{ ip: '10.0.0.0/8' }, "10.0.0.0/8 isn't a valid ip"],
    [{ range: '10.0.0.1' }, "10.0.0.1 isn't a valid range"],
    [{}, 'Missing arguments, a value is required (--ip, --range or --scope and --value)'],
    [{ scope: 'ip', value: 'nope' }, "nope isn't a valid ip"],
    [{ ip: '192.0.2.7', duration: 'forever' }, "invalid duration 'forever'"],
  ])('refuses %j: %s', (input, message) => {
    expect(() => manualDecisionAlert(input, NOW)).toThrow(new ValidationError(message));
  });
});
