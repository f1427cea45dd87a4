import { DomainError } from '../shared/errors';
import { parseIp } from '../shared/ip-range';
import { storableText } from '../shared/storable-text';

// Names go into URLs, YAML files, stream ids and the admin's terminal: what cscli generates (48 letters and
// digits) and what users type (`agent-1`, `node.example.com`). The reference stores any text.
const CLIENT_NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]*$/;
export const MAX_CLIENT_NAME_LENGTH = 128;

/**
 * Longer than any name a machine can hold (new names, certificate names `<CN>@<ip>`, names taken before the rule
 * above): a login with a longer one is refused without a database read.
 */
export const MAX_LOOKED_UP_NAME_LENGTH = 1024;

/** Whether some stored machine could have this name: not too long to look up, and text PostgreSQL can hold. */
export const couldBeMachineName = (name: string): boolean =>
  name.length <= MAX_LOOKED_UP_NAME_LENGTH && storableText(name);

/** bcrypt reads only the first 72 bytes: a longer password would log in with any tail (Go's bcrypt refuses it). */
export const MAX_PASSWORD_BYTES = 72;

export class InvalidMachineCredentialsError extends DomainError {
  readonly code = 'MACHINE.INVALID_REGISTRATION';
}

/** Why a machine or bouncer name cannot be given to a new client, or null if it can. */
export function clientNameProblem(name: string): string | null {
  if (name.length > MAX_CLIENT_NAME_LENGTH || !CLIENT_NAME.test(name)) {
    return `use 1 to ${MAX_CLIENT_NAME_LENGTH} letters, digits, dots, dashes, underscores or @, starting with a letter or digit`;
  }
  return null;
}

/**
 * `<CN>@<ip>` is how the reference names the machines a client certificate creates (middlewares/v1/jwt.go):
 * a password machine holding such a name would lock that certificate's agent out.
 */
export const isCertificateMachineName = (name: string): boolean => {
  const at = name.lastIndexOf('@');
  return at > 0 && parseIp(name.slice(at + 1)) !== null;
};

/** Counted in UTF-8 bytes, as bcrypt reads them; a huge string is refused without encoding it. */
export const passwordTooLong = (password: string): boolean =>
  // Each UTF-16 unit is 1 to 3 UTF-8 bytes.
  password.length > MAX_PASSWORD_BYTES ||
  (password.length * 3 > MAX_PASSWORD_BYTES && utf8Length(password) > MAX_PASSWORD_BYTES);

const utf8Length = (text: string): number => new TextEncoder().encode(text).length;

/** The name and password a machine may be registered with by password (API or admin); throws otherwise. */
export function assertRegistrableMachine(machineId: string, password: string): void {
  const nameProblem = clientNameProblem(machineId);
  if (nameProblem !== null) {
    throw new InvalidMachineCredentialsError(`invalid machine_id: ${nameProblem}`);
  }
  if (isCertificateMachineName(machineId)) {
    throw new InvalidMachineCredentialsError(
      `invalid machine_id: names shaped <name>@<IP address> are reserved for machines logging in with a client certificate`,
    );
  }
  if (passwordTooLong(password)) {
    throw new InvalidMachineCredentialsError(
      `invalid password: at most ${MAX_PASSWORD_BYTES} bytes (bcrypt ignores the rest)`,
    );
  }
}
