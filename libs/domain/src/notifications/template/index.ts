import type { ListNode } from './ast';
import { execute } from './exec';
import { checkFunction, type FunctionContext } from './functions';
import { parseTemplate } from './parse';
import type { GoValue } from './values';

export type { FunctionContext } from './functions';
export { marshalJson } from './json';
export * from './values';

/** A parsed Go text/template, ready to render any number of times. */
export interface GoTemplate {
  readonly source: string;
  /** Template.Execute: throws {@link TemplateExecError} as Go would fail. */
  render(data: GoValue, context?: FunctionContext): string;
}

/**
 * Parses `source` as Go's text/template with sprig's and CrowdSec's functions (FormatAlerts in the reference's
 * pkg/csplugin/broker.go). Throws {@link TemplateParseError} for what Go refuses and for what is not supported here.
 *
 * @example compileGoTemplate('{{range .}}{{.Scenario}}{{end}}').render(alerts)
 */
export function compileGoTemplate(source: string): GoTemplate {
  const tree: ListNode = parseTemplate(source, checkFunction);
  return {
    source,
    render: (data, context = {}) => execute(source, tree, data, context),
  };
}
