import type { DecisionRecord } from '@lapi/read-models';
import { signWebhook, verifyWebhook, webhookBody } from './webhook-payload';

const record = (over: Partial<DecisionRecord>): DecisionRecord => ({
  id: 1,
  uuid: 'u1',
  alertId: 1,
  origin: 'cscli',
  type: 'ban',
  scope: 'Ip',
  value: '192.0.2.1',
  scenario: 's',
  simulated: false,
  until: 2_000_000,
  removed: false,
  ...over,
});

describe('webhookBody', () => {
  it('reports active decisions as added and ended ones as deleted, with their change numbers', () => {
    const body = JSON.parse(
      webhookBody(
        [
          { seq: 7, record: record({}) },
          { seq: 8, record: record({ id: 2, until: 1_000 }) }, // deleted early: until lowered to the deletion
          { seq: 9, record: record({ id: 3, removed: true }) }, // its alert was deleted
        ],
        1_500,
      ),
    ) as { changes: { seq: number; action: string; decision: { id: number; until: string } }[] };
    expect(body.changes.map((c) => [c.seq, c.action, c.decision.id])).toEqual([
      [7, 'added', 1],
      [8, 'deleted', 2],
      [9, 'deleted', 3],
    ]);
    expect(body.changes[0].decision).toEqual({
      id: 1,
      uuid: 'u1',
      origin: 'cscli',
      type: 'ban',
      scope: 'Ip',
      value: '192.0.2.1',
      scenario: 's',
      simulated: false,
      until: '1970-01-01T00:33:20.000Z',
    });
  });
});

describe('signWebhook / verifyWebhook', () => {
  const secret = 's'.repeat(32);

  it('signs the timestamp and the body with HMAC-SHA256', () => {
    // echo -n '1700000000.{"a":1}' | openssl dgst -sha256 -hmac ssssssssssssssssssssssssssssssss
    expect(signWebhook(secret, '{"a":1}', 1_700_000_000)).toBe(
      't=1700000000,v1=da54d054c6c42cc9950b89a9afffe7bcdafff0cea3bd354ab40fe78e1e527905',
    );
  });

  it('accepts its own signature and refuses another body, secret, or an old timestamp', () => {
    const header = signWebhook(secret, 'body', 1_000);
    expect(verifyWebhook(secret, 'body', header, 1_100)).toBe(true);
    expect(verifyWebhook(secret, 'body!', header, 1_100)).toBe(false);
    expect(verifyWebhook('t'.repeat(32), 'body', header, 1_100)).toBe(false);
    expect(verifyWebhook(secret, 'body', header, 1_000 + 301)).toBe(false);
    expect(verifyWebhook(secret, 'body', 'garbage', 1_000)).toBe(false);
  });
});
