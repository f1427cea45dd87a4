import {
  assertRegistrableMachine,
  clientNameProblem,
  InvalidMachineCredentialsError,
  isCertificateMachineName,
  passwordTooLong,
} from './machine-credentials';

describe('machine credentials', () => {
  it('takes the names cscli generates and users type, refuses control characters, paths and spaces', () => {
    for (const name of ['agent-1', 'node.example.com', 'my_agent', 'a@b', `${'0f'.repeat(16)}AbCdEfGh12345678`]) {
      expect(clientNameProblem(name)).toBeNull();
    }
    for (const name of ['', '\u001b[32mx', 'a\nb', '../x', 'a/b', 'a b', '-a', '.a', 'a'.repeat(129), 'é']) {
      expect(clientNameProblem(name)).not.toBeNull();
    }
  });

  it('recognises certificate machine names <CN>@<ip>', () => {
    expect(isCertificateMachineName('agentB@127.0.0.1')).toBe(true);
    expect(isCertificateMachineName('agent@2001:db8::1')).toBe(true);
    expect(isCertificateMachineName('agent@host.example')).toBe(false);
    expect(isCertificateMachineName('@127.0.0.1')).toBe(false);
  });

  it('counts password length in UTF-8 bytes', () => {
    expect(passwordTooLong('A'.repeat(72))).toBe(false);
    expect(passwordTooLong('A'.repeat(73))).toBe(true);
    expect(passwordTooLong('é'.repeat(36))).toBe(false);
    expect(passwordTooLong('é'.repeat(37))).toBe(true);
    expect(passwordTooLong('😀'.repeat(18))).toBe(false);
    expect(passwordTooLong('😀'.repeat(19))).toBe(true);
  });

  it('refuses a registration with a reserved name or a long password', () => {
    expect(() => assertRegistrableMachine('agentB@10.0.0.1', 'p')).toThrow(InvalidMachineCredentialsError);
    expect(() => assertRegistrableMachine('agent', 'A'.repeat(73))).toThrow(/at most 72 bytes/);
    expect(() => assertRegistrableMachine('agent', 'A'.repeat(72))).not.toThrow();
  });
});
