/**
 * The environment, for another program's configuration that names variables in it (CrowdSec's config.yaml, read by
 * `lapi import-crowdsec`, expands `${VAR}` as CrowdSec does). Never our own settings: those come from loadConfig.
 */
export const foreignEnvironment = (): Readonly<Record<string, string | undefined>> => process.env;
