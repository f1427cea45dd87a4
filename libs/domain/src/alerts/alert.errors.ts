import { DomainError } from '../shared/errors';

export class AlertNotFoundError extends DomainError {
  readonly code = 'ALERT.NOT_FOUND';
  constructor() {
    super('ent: alert not found'); // the reference's text for DELETE /v1/alerts/:id
  }
}
