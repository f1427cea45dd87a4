/**
 * Given/when/then for a pure decider (emmett's DeciderSpecification): fold the given events into state, decide the
 * command, and compare the events it produces, or the error it throws.
 */
export function deciderSpec<S, C, E>(decider: {
  decide: (command: C, state: S, now: Date) => E[];
  evolve: (state: S, event: E) => S;
  initial: S;
  now: Date;
}) {
  return {
    given: (events: E[]) => ({
      when: (command: C) => {
        const run = () =>
          decider.decide(
            command,
            events.reduce((s, e) => decider.evolve(s, e), decider.initial),
            decider.now,
          );
        return {
          then: (expected: E[]) => expect(run()).toEqual(expected),
          thenThrows: (errorClass: new (...args: never[]) => Error, message?: string) => {
            expect(run).toThrow(errorClass);
            if (message !== undefined) {
              expect(run).toThrow(message);
            }
          },
        };
      },
    }),
  };
}
