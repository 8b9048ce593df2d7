/** The shipped systemd unit passes systemd's own verifier and keeps its hardening. */
import t from 'tap';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';

const unit = 'deploy/whepd.service';

t.test('systemd-analyze verify accepts deploy/whepd.service', async (t) => {
  const r = await execa('systemd-analyze', ['verify', unit], { reject: false, all: true });
  t.equal(r.exitCode, 0, r.all || 'no complaints');
});

t.test('the unit is hardened and notifies readiness', async (t) => {
  const text = readFileSync(unit, 'utf8');
  for (const line of ['Type=notify', 'DynamicUser=yes', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes', 'CapabilityBoundingSet=', 'Restart=on-failure', 'ExecReload=/bin/kill -HUP $MAINPID']) {
    t.match(text, new RegExp(`^${line.replace(/[$]/g, '\\$')}$`, 'm'), line);
  }
  t.match(text, /^RestrictAddressFamilies=.*AF_INET6/m);
  t.match(text, /\/etc\/whepd\/config\.json/);
});
