import { DomainError } from '../shared/errors';

/** A notification config (notification_dir) cannot be used: the reference LAPI refuses to start on these. */
export class NotificationConfigError extends DomainError {
  readonly code = 'NOTIFICATION.CONFIG';
}

/**
 * A `format` that Go's text/template would refuse, or that uses a construct or function this implementation does
 * not provide. The message starts like Go's (`template: :LINE: …`).
 */
export class TemplateParseError extends DomainError {
  readonly code = 'NOTIFICATION.TEMPLATE_PARSE';
}

/** Rendering a `format` failed, as Template.Execute would (`template: :LINE:COL: executing "" at <…>: …`). */
export class TemplateExecError extends DomainError {
  readonly code = 'NOTIFICATION.TEMPLATE_EXEC';
}
