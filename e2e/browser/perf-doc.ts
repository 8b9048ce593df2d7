/** Keeps the `## Browser time to first frame` section of docs/performance.md up to date. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

const HEADING = '## Browser time to first frame';

/** Replaces (or appends) our section, leaving every other section as it was. */
export function writePerfSection(path: string, body: string): void {
  const before = existsSync(path) ? readFileSync(path, 'utf8') : '# Performance\n';
  const section = `${HEADING}\n\n${body.trim()}\n`;
  const start = before.indexOf(HEADING);
  let next: string;
  if (start < 0) {
    next = `${before.trimEnd()}\n\n${section}`;
  } else {
    const rest = before.slice(start + HEADING.length);
    const m = /\n## /.exec(rest);
    const end = m ? start + HEADING.length + m.index + 1 : before.length;
    next = `${before.slice(0, start)}${section}${end < before.length ? '\n' + before.slice(end) : ''}`;
  }
  writeFileSync(path, next);
}
