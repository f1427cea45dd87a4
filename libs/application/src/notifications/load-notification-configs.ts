import {
  compileNotificationConfigs,
  NotificationConfigError,
  type EnvLookup,
  type NotificationConfigs,
  type NotificationDocument,
} from '@lapi/domain';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';

/**
 * Loads `config_paths.notification_dir`: every `*.yaml` / `*.yml` file directly in it (not in subfolders), in name
 * order, each with one or more YAML documents, as the reference's broker lists them (listFilesAtPath). Returns the
 * http configs by name; see {@link compileNotificationConfigs} for `used`. Throws {@link NotificationConfigError}
 * naming the file for anything the reference would refuse, and for any type but http.
 */
export function loadNotificationConfigs(
  dir: string,
  options: { readonly env?: EnvLookup; readonly used?: readonly string[] } = {},
): NotificationConfigs {
  let names: string[];
  try {
    names = readdirSync(dir, { withFileTypes: true })
      .filter((entry) => !entry.isDirectory() && /\.ya?ml$/.test(entry.name))
      .map((entry) => entry.name)
      .sort();
  } catch (e) {
    throw new NotificationConfigError(`${dir}: ${(e as Error).message}`);
  }
  const documents: NotificationDocument[] = [];
  for (const name of names) {
    const file = join(dir, name);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new NotificationConfigError(`${file}: ${(e as Error).message}`);
    }
    const parsed = [...parseAllDocuments(text)];
    parsed.forEach((doc, i) => {
      const error = doc.errors.at(0);
      const source = parsed.length > 1 ? `${file} (document ${i + 1})` : file;
      if (error !== undefined) {
        throw new NotificationConfigError(`${source}: ${error.message}`);
      }
      documents.push({ doc: doc.toJS(), source });
    });
  }
  return compileNotificationConfigs(documents, options);
}
