/** Keeps the browser sections of docs/performance.md up to date. */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';

/** Replaces (or appends) the section under `heading` (`## ...`), leaving every other section as it was. */
export function writePerfSection(path: string, heading: string, body: string): void {
  const before = existsSync(path) ? readFileSync(path, 'utf8') : '# Performance\n';
  const section = `${heading}\n\n${body.trim()}\n`;
  const m0 = new RegExp(`^${heading.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`, 'm').exec(before);
  const start = m0 ? m0.index : -1;
  let next: string;
  if (start < 0) {
    next = `${before.trimEnd()}\n\n${section}`;
  } else {
    const rest = before.slice(start + heading.length);
    const m = /\n## /.exec(rest);
    const end = m ? start + heading.length + m.index + 1 : before.length;
    next = `${before.slice(0, start)}${section}${end < before.length ? '\n' + before.slice(end) : ''}`;
  }
  writeFileSync(path, next);
}
