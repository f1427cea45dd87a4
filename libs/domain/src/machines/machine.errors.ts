import { DomainError } from '../shared/errors';

// Messages are the reference's, byte for byte: clients print them.

export class MachineAlreadyExistsError extends DomainError {
  readonly code = 'MACHINE.ALREADY_EXISTS';
  constructor(readonly machineId: string) {
    super(`user '${machineId}': user already exist`); // controllers/v1/errors.go
  }
}

export class MachineNotFoundError extends DomainError {
  readonly code = 'MACHINE.NOT_FOUND';
  constructor(readonly machineId: string) {
    super(`machine '${machineId}' does not exist`);
  }
}

export class MachineNotValidatedError extends DomainError {
  readonly code = 'MACHINE.NOT_VALIDATED';
  constructor(readonly machineId: string) {
    super(`machine ${machineId} not validated`);
  }
}

export class InvalidCredentialsError extends DomainError {
  readonly code = 'MACHINE.INVALID_CREDENTIALS';
  constructor() {
    super('incorrect Username or Password');
  }
}

export class MachineAuthTypeMismatchError extends DomainError {
  readonly code = 'MACHINE.AUTH_TYPE_MISMATCH';
  constructor(
    readonly machineId: string,
    readonly attempted: 'password' | 'tls' = 'password',
  ) {
    // The reference's words: "TLS cert" for a certificate login, the auth type's name otherwise.
    super(
      `machine ${machineId} attempted to auth with ${attempted === 'tls' ? 'TLS cert' : 'password'} but it is configured to use ${attempted === 'tls' ? 'password' : 'tls'}`,
    );
  }
}
