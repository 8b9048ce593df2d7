/**
 * `make install` puts the build, the unit and a starting config in place (into a DESTDIR here). Children run
 * through `env -u NODE_OPTIONS`: tap injects its loader hooks there, and they break tsc.
 */
import t from 'tap';
import { execa } from 'execa';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

t.test('make install DESTDIR=<tmp> installs a runnable whepd', async (t) => {
  const dest = mkdtempSync(join(tmpdir(), 'whepd-install-'));
  t.teardown(() => rmSync(dest, { recursive: true, force: true }));
  const r = await execa('env', ['-u', 'NODE_OPTIONS', 'make', 'install', `DESTDIR=${dest}`], { reject: false, all: true, timeout: 240000 });
  t.equal(r.exitCode, 0, r.exitCode === 0 ? 'make install succeeded' : r.all);
  t.ok(existsSync(join(dest, 'etc/systemd/system/whepd.service')), 'unit installed');
  t.ok(existsSync(join(dest, 'etc/whepd/config.json')), 'config installed');
  const main = join(dest, 'opt/whepd/dist/cmd/whepd/main.js');
  t.ok(existsSync(main), 'build installed');
  const check = await execa('env', ['-u', 'NODE_OPTIONS', 'node', main, 'check', join(dest, 'etc/whepd/config.json')], { reject: false, all: true });
  t.equal(check.exitCode, 0, `installed whepd validates the installed config: ${check.all}`);
});
