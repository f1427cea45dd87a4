import type { AppConfig } from '@lapi/config';
import { resolve } from 'node:path';

// The start banner's commands: `lapi` run from anywhere finds this server's database only with the settings that
// point at it, so the banner prints them (issue #13). Passwords are never printed.

const HIDDEN = '****';

/** A URL with its password, and any password in its query, replaced by ****; the text unchanged if not a URL. */
export function withoutPassword(url: string): { url: string; hidden: boolean } {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { url, hidden: false };
  }
  let hidden = false;
  if (parsed.password !== '') {
    parsed.password = HIDDEN;
    hidden = true;
  }
  for (const key of [...parsed.searchParams.keys()]) {
    if (/pass|secret|token/i.test(key)) {
      parsed.searchParams.set(key, HIDDEN);
      hidden = true;
    }
  }
  // URL escapes the asterisks it was given: shown as typed.
  return { url: parsed.toString().replace(/%2A/gi, '*'), hidden };
}

/** A word for a POSIX shell: as is when it is safe, else single-quoted. */
const shellWord = (word: string): string =>
  /^[\w./:@%+=,~*-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;

/**
 * What to type before a `lapi` command so that it works on this server's data: the embedded data directory as an
 * absolute path, or the PostgreSQL URL (and Redis in a cluster) with passwords hidden; `hidden` tells whether the
 * user must put a password back.
 */
export function adminCommandPrefix(config: AppConfig, cwd = process.cwd()): { prefix: string; hidden: string[] } {
  if (config.database.kind === 'embedded') {
    return { prefix: `LAPI_DATA_DIR=${shellWord(resolve(cwd, config.dataDir))} npx lapi`, hidden: [] };
  }
  const settings: string[] = [];
  const hidden: string[] = [];
  const add = (name: string, value: string) => {
    const shown = withoutPassword(value);
    settings.push(`${name}=${shellWord(shown.url)}`);
    if (shown.hidden) {
      hidden.push(name);
    }
  };
  add('DATABASE_URL', config.database.url);
  if (config.redisUrl) {
    add('REDIS_URL', config.redisUrl);
    if (config.redisPrefix !== 'lapi:') {
      settings.push(`LAPI_REDIS_PREFIX=${shellWord(config.redisPrefix)}`);
    }
  }
  return { prefix: `${settings.join(' ')} npx lapi`, hidden };
}

/** The "Next steps" the server prints on a terminal when it starts. */
export function nextSteps(config: AppConfig, url: string, cwd = process.cwd()): string {
  const { prefix, hidden } = adminCommandPrefix(config, cwd);
  return [
    '',
    'Next steps (the admin CLI, pointed at this server’s database):',
    `  add a bouncer:   ${prefix} bouncers add my-bouncer   (prints its API key)`,
    `  add a machine:   ${prefix} machines add my-agent --auto -f ./local_api_credentials.yaml --url ${url}`,
    `  or register one: cscli lapi register -u ${url} --machine my-agent, then ${prefix} machines validate my-agent`,
    ...(hidden.length > 0 ? [`  (put the password back in ${hidden.join(' and ')} where it shows ${HIDDEN})`] : []),
    '',
  ].join('\n');
}
