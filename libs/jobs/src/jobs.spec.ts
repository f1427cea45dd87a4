import { checkHandlers, JobName } from './jobs';

describe('checkHandlers', () => {
  it('accepts exactly one handler per job kind', () => {
    expect(() => checkHandlers({ [JobName.ExpireDecisions]: () => Promise.resolve() })).not.toThrow();
  });

  it('names the missing and the unknown kinds', () => {
    expect(() => checkHandlers({})).toThrow('missing [expire-decisions]');
    expect(() => checkHandlers({ [JobName.ExpireDecisions]: () => 0, other: () => 0 })).toThrow('unknown [other]');
  });
});
