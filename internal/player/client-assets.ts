/**
 * The player's browser code: compiled from client/*.mts by `tsc -p internal/player/client` into
 * dist/player/, read from disk once and served by whepd (no external assets).
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** Files the player page loads, by the name it requests them under. */
export const CLIENT_FILES = ['player.mjs', 'whep-client.mjs', 'stats.mjs', 'events.mjs', 'messages.mjs', 'links.mjs'] as const;

/** The command that builds the browser code. */
export const CLIENT_BUILD_COMMAND = 'npx tsc -p internal/player/client/tsconfig.json';

/** Loaded browser code, or why it could not be loaded. */
export type ClientAssets = { ok: true; files: ReadonlyMap<string, string> } | { ok: false; error: string };

// Built layout: dist/internal/player/client-assets.js -> dist/player/. Source layout (tsx, tests):
// internal/player/client-assets.ts -> dist/player/.
const CANDIDATE_DIRS = [new URL('../../player/', import.meta.url), new URL('../../dist/player/', import.meta.url)];

/** Reads the compiled browser code; never throws. */
export function loadClientAssets(dirs: readonly URL[] = CANDIDATE_DIRS): ClientAssets {
  const dir = dirs.find((d) => existsSync(new URL('player.mjs', d)));
  if (!dir) {
    const looked = dirs.map((d) => fileURLToPath(d)).join(', ');
    return { ok: false, error: `the player's browser code is not built (looked for player.mjs in ${looked}); build it with: ${CLIENT_BUILD_COMMAND}` };
  }
  const files = new Map<string, string>();
  try {
    for (const name of CLIENT_FILES) files.set(name, readFileSync(new URL(name, dir), 'utf8'));
  } catch (err) {
    return { ok: false, error: `cannot read the player's browser code in ${fileURLToPath(dir)}: ${(err as Error).message}; rebuild it with: ${CLIENT_BUILD_COMMAND}` };
  }
  return { ok: true, files };
}
