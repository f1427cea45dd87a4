import { checkHandlers, JobName, jobNamesOf, QUEUE_OF, QueueName } from './jobs';

describe('checkHandlers', () => {
  it('accepts exactly one handler per job kind', () => {
    expect(() =>
      checkHandlers({ [JobName.ExpireDecisions]: () => Promise.resolve() }, jobNamesOf(QueueName.Maintenance)),
    ).not.toThrow();
  });

  it('names the missing and the unknown kinds', () => {
    expect(() => checkHandlers({}, [JobName.ExpireDecisions])).toThrow('missing [expire-decisions]');
    expect(() =>
      checkHandlers({ [JobName.ExpireDecisions]: () => 0, other: () => 0 }, [JobName.ExpireDecisions]),
    ).toThrow('unknown [other]');
  });
});

describe('queues', () => {
  it('puts every job kind on exactly one queue', () => {
    const all = Object.values(QueueName).flatMap(jobNamesOf);
    expect([...all].sort()).toEqual(Object.values(JobName).sort());
    expect(jobNamesOf(QueueName.Notifications)).toEqual([JobName.DeliverNotification]);
    expect(Object.keys(QUEUE_OF).sort()).toEqual(Object.values(JobName).sort());
  });
});
