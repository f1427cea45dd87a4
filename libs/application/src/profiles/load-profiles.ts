import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
// The domain index does not re-export profiles yet; switch to '@lapi/domain' once it does.
import { compileProfiles, DEFAULT_PROFILES, ProfileConfigError, type Profile } from '@lapi/domain';

/**
 * Loads `api.server.profiles_path`: the YAML documents of `<path>.local` (when it exists) then of `<path>`, empty
 * documents skipped, compiled in that order as the reference's patcher prepends the local file. Without a path, the
 * default profiles. Throws {@link ProfileConfigError} naming the file for anything the reference would refuse.
 */
export function loadProfiles(path: string | undefined): Profile[] {
  if (path === undefined) {
    return [...DEFAULT_PROFILES];
  }
  const localPath = `${path}.local`;
  const local = readDocuments(localPath, true);
  const main = readDocuments(path, false);
  if (local.length + main.length === 0) {
    throw new ProfileConfigError(`${path}: zero profiles loaded for LAPI`);
  }
  return [
    ...(local.length > 0 ? compileProfiles(local, localPath) : []),
    ...(main.length > 0 ? compileProfiles(main, path) : []),
  ];
}

function readDocuments(file: string, optional: boolean): unknown[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if (optional && (e as NodeJS.ErrnoException).code === 'ENOENT') {
      return [];
    }
    throw new ProfileConfigError(`${file}: ${(e as Error).message}`);
  }
  const docs: unknown[] = [];
  for (const doc of parseAllDocuments(text)) {
    const error = doc.errors.at(0);
    if (error !== undefined) {
      throw new ProfileConfigError(`${file}: ${error.message}`);
    }
    const value: unknown = doc.toJS();
    if (value !== null && value !== undefined) {
      docs.push(value);
    }
  }
  return docs;
}
