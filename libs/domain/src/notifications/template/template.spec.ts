import { toModelAlerts, type NotificationAlert } from '../alert-model';
import { TemplateExecError, TemplateParseError } from '../notification.errors';
import { CSCLI_BAN, SIMULATED_RANGE, SSH_BF } from '../notification.fixtures';
import { compileGoTemplate } from './index';
import golden from './testdata/go-text-template.golden.json';

// go-text-template.golden.json was recorded by rendering each template with Go 1.19's text/template, sprig 3.2.3
// (the Debian packages) and copies of CrowdSec's pkg/models types and csplugin funcMap (GetMeta, HTMLEscape;
// Hostname returning "testhost"), on the fixtures below marshalled with marshalJson and read back by
// encoding/json. It holds the templates of CrowdSec's docs (local_api/notification_plugins/*.md) and of the
// plugins' shipped configs (cmd/notification-*/*.yaml), then one case per feature. `expected` overrides Go's
// output where this implementation differs on purpose, and `why` says why.

const FIXTURES: Record<string, NotificationAlert> = { SSH_BF, CSCLI_BAN, SIMULATED_RANGE };
const CONTEXT = { hostname: 'testhost', env: (name: string) => (name === 'HOME' ? '/root' : undefined) };

interface GoldenCase {
  name: string;
  template: string;
  alerts: string[];
  go: { out?: string; err?: string };
  expected?: { out?: string; err?: string };
  why?: string;
}

function render(template: string, alerts: readonly NotificationAlert[]): { out?: string; err?: string } {
  try {
    return { out: compileGoTemplate(template).render(toModelAlerts(alerts), CONTEXT) };
  } catch (e) {
    if (e instanceof TemplateParseError || e instanceof TemplateExecError) {
      return { err: e.message };
    }
    throw e;
  }
}

describe('Go text/template, as recorded from Go', () => {
  it.each((golden as GoldenCase[]).map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const alerts = c.alerts.map((key) => FIXTURES[key]);
    expect(render(c.template, alerts)).toEqual(c.expected ?? c.go);
  });

  it('covers every template of the docs and of the shipped configs', () => {
    const names = (golden as GoldenCase[]).map((c) => c.name);
    expect(names.filter((n) => n.startsWith('docs ') || n.startsWith('shipped ')).length).toBeGreaterThanOrEqual(25);
  });
});

describe('Go text/template, by hand', () => {
  const alerts = [SSH_BF, CSCLI_BAN];

  it.each([
    [
      "the brief's decision list",
      '{{range . -}}{{$alert := . -}}{{range .Decisions -}}{{.Value}} will get {{.Type}} for next {{.Duration}} for triggering {{.Scenario}}.{{end -}}{{end -}}',
      "35.188.49.176 will get ban for next 4h for triggering crowdsecurity/ssh-bf.1.2.3.4 will get ban for next 24h for triggering manual 'ban' from 'localhost'.1.2.3.4 will get captcha for next 1h for triggering manual 'ban' from 'localhost'.",
    ],
    ['trim markers eat all surrounding white space', 'a \n {{- 1 -}} \n b', 'a1b'],
    ['a comment prints nothing', 'x{{/* note */}}y', 'xy'],
    ['a declaration prints nothing', '{{$n := len .}}{{$n}} alerts', '2 alerts'],
    [
      'range declares index and element',
      '{{range $i, $a := .}}{{$i}}={{$a.Source.IP}} {{end}}',
      '0=35.188.49.176 1=1.2.3.4 ',
    ],
    [
      'else if chains',
      '{{range .}}{{if .Source.Cn}}{{.Source.Cn}}{{else if .Labels}}labels{{else}}-{{end}} {{end}}',
      'US labels ',
    ],
    ['with rebinds dot', '{{with index . 0}}{{.Scenario}}{{end}}', 'crowdsecurity/ssh-bf'],
    ['pipelines pass the value last', '{{. | len | printf "%d alerts"}}', '2 alerts'],
    [
      'functions with typed parameters dereference pointers',
      '{{range .}}{{substr 0 10 .StartAt}} {{end}}',
      '2022-02-12 2024-05-01 ',
    ],
    ['methods of models.Alert', '{{range .}}{{.GetScope}}/{{.GetValue}} {{end}}', 'Ip/35.188.49.176 Ip/1.2.3.4 '],
    ["CrowdSec's GetMeta", '{{range .}}{{GetMeta . "target_user"}}{{end}}', '[pascal root][]'],
    [
      'toJson writes the wire names',
      '{{(index . 1).Source | toJson}}',
      '{"ip":"1.2.3.4","scope":"Ip","value":"1.2.3.4"}',
    ],
  ])('%s', (_name, template, output) => {
    expect(compileGoTemplate(template).render(toModelAlerts(alerts))).toBe(output);
  });

  it.each([
    ['an unknown function', '{{nope .}}', 'template: :1: function "nope" not defined'],
    [
      'a sprig function that is not provided',
      '{{now}}',
      'template: :1: function "now" is not supported in notification formats',
    ],
    ['CrowdsecCTI', '{{range .}}{{CrowdsecCTI .Source.IP}}{{end}}', 'function "CrowdsecCTI" is not supported'],
    ['{{template}}', '{{template "x" .}}', '{{template}} is not supported in notification formats'],
    ['{{define}}', '{{define "x"}}{{end}}', '{{define}} is not supported in notification formats'],
    ['an undefined variable', '{{$x}}', 'template: :1: undefined variable "$x"'],
    ['a missing end', '{{if .}}x', 'template: :1: unexpected EOF'],
    ['a line number past the first line', 'a\nb\n{{end}}', 'template: :3: unexpected {{end}}'],
  ])('refuses %s when parsing', (_name, template, message) => {
    expect(() => compileGoTemplate(template)).toThrow(TemplateParseError);
    expect(() => compileGoTemplate(template)).toThrow(message);
  });

  it.each([
    [
      'a field of the list',
      '{{.Scenario}}',
      'template: :1:2: executing "" at <.Scenario>: can\'t evaluate field Scenario in type []*models.Alert',
    ],
    [
      'eq on a *string',
      '{{range .}}{{eq .Scenario "x"}}{{end}}',
      'error calling eq: incompatible types for comparison',
    ],
    ['printing an address', '{{index . 0}}', "can't print a value of type *int32: Go prints its memory address"],
  ])('fails like Template.Execute on %s', (_name, template, message) => {
    const t = compileGoTemplate(template);
    expect(() => t.render(toModelAlerts(alerts))).toThrow(TemplateExecError);
    expect(() => t.render(toModelAlerts(alerts))).toThrow(message);
  });

  it('reads the environment and the hostname only through the context', () => {
    const t = compileGoTemplate('{{env "TOKEN"}}|{{Hostname}}');
    expect(
      t.render(toModelAlerts([]), { env: (n) => (n === 'TOKEN' ? 's3cret' : undefined), hostname: 'lapi-1' }),
    ).toBe('s3cret|lapi-1');
    expect(() => t.render(toModelAlerts([]))).toThrow('error calling Hostname: the hostname is not known');
  });
});
