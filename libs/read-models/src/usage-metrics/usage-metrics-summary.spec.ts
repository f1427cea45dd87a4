import { latestUsageSamples, summarizeUsage } from './usage-metrics-summary';
import type { StoredUsageReport } from './usage-metrics.projection';

const report = (at: number, items: { name: string; unit: string; value: number; labels?: Record<string, string> }[]) =>
  ({
    kind: 'bouncer',
    name: 'testbouncer',
    receivedAt: new Date(at * 1000).toISOString(),
    report: {
      version: 'v1.0',
      utc_startup_timestamp: 1707399316,
      metrics: [{ meta: { window_size_seconds: 600, utc_now_timestamp: at }, items }],
    },
  }) as StoredUsageReport;

// The reference's expectations (test/bats/08_metrics_bouncer.bats, "rc usage metrics (good payload)").
describe('summarizeUsage (cscli metrics show bouncers)', () => {
  it('sums counters over windows, keeps the latest gauge, sums IP types, truncates, counts a resent item once', () => {
    const first = report(1707399316, [
      { name: 'foo', unit: 'pound', value: 3.1415926 },
      { name: 'foo', unit: 'pound', value: 2.7182818 },
      { name: 'foo', unit: 'dogyear', value: 2.7182818 },
    ]);
    const second = report(1707399916, [
      { name: 'active_decisions', unit: 'ip', value: 500, labels: { ip_type: 'ipv4', origin: 'lists:firehol_voipbl' } },
      { name: 'active_decisions', unit: 'ip', value: 1, labels: { ip_type: 'ipv6', origin: 'cscli' } },
      { name: 'dropped', unit: 'byte', value: 3800, labels: { ip_type: 'ipv4', origin: 'CAPI' } },
      { name: 'dropped', unit: 'byte', value: 380, labels: { ip_type: 'ipv6', origin: 'cscli' } },
      { name: 'dropped', unit: 'packet', value: 10, labels: { ip_type: 'ipv4', origin: 'cscli' } },
      { name: 'dropped', unit: 'packet', value: 5, labels: { ip_type: 'ipv6', origin: 'cscli' } },
    ]);
    const third = report(1707450000, [
      { name: 'active_decisions', unit: 'ip', value: 250, labels: { ip_type: 'ipv4', origin: 'lists:firehol_voipbl' } },
      { name: 'active_decisions', unit: 'ip', value: 10, labels: { ip_type: 'ipv6', origin: 'cscli' } },
      { name: 'dropped', unit: 'byte', value: 20, labels: { ip_type: 'ipv4', origin: 'CAPI' } },
    ]);
    const [summary] = summarizeUsage([first, second, second, third]);
    expect(summary).toEqual({
      kind: 'bouncer',
      name: 'testbouncer',
      since: '2024-02-08T13:35:16.000Z',
      byOrigin: {
        '': { foo: { dogyear: 2, pound: 5 } },
        CAPI: { dropped: { byte: 3820 } },
        cscli: { active_decisions: { ip: 10 }, dropped: { byte: 380, packet: 15 } },
        'lists:firehol_voipbl': { active_decisions: { ip: 250 } },
      },
    });
  });
});

describe('latestUsageSamples (Prometheus export)', () => {
  it('caps the series whatever the clients send', () => {
    const items = Array.from({ length: 50 }, (_, i) => ({
      name: 'dropped',
      unit: 'packet',
      value: i,
      labels: { origin: `o${i}` },
    }));
    expect(latestUsageSamples([report(1, items)], 20)).toHaveLength(20);
  });
});
