import { DomainError } from '../shared/errors';

export class DecisionNotFoundError extends DomainError {
  readonly code = 'DECISION.NOT_FOUND';
  constructor(id: number) {
    super(`decision with id '${id}' doesn't exist: unable to delete`); // the reference's text
  }
}
