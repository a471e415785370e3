import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  exists,
  explain,
  type FakeNode,
  fakeNode,
  leakedSecrets,
  linkTarget,
  modeOf,
  parametersFor,
  read,
  runDocument,
  samplePlan,
  treeDiff,
  treeState,
} from './harness.js';

const VOLUME = 'vol-0123456789abcdef0';

/** A bastion with its log volume attached (by-id link) and the nginx package's default site enabled. */
function bastion(): FakeNode {
  const node = fakeNode();
  mkdirSync(join(node.root, 'dev/disk/by-id'), { recursive: true });
  writeFileSync(join(node.root, 'dev/nvme1n1'), '');
  symlinkSync(
    '../../nvme1n1',
    join(node.root, 'dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0123456789abcdef0'),
  );
  mkdirSync(join(node.root, 'etc/nginx/sites-enabled'), { recursive: true });
  symlinkSync('/etc/nginx/sites-available/default', join(node.root, 'etc/nginx/sites-enabled/default'));
  return node;
}

describe('capi-bastion-install', () => {
  let node: FakeNode;
  beforeEach(() => {
    node = bastion();
  });
  afterEach(() => node.cleanup());

  it('mounts the log volume by id, installs nginx, node_exporter, the webapi and the UI; a re-run changes nothing', () => {
    // Prepare
    const parameters = parametersFor(samplePlan(), 'capi-bastion-install', 'bastion', {
      logVolumeId: VOLUME,
    });
    // Act
    const first = runDocument(node, 'capi-bastion-install', parameters);
    // Assess
    expect(first.status, explain(first)).toBe(0);
    const device = join(node.root, 'dev/nvme1n1');
    expect(first.calls).toContain(`mkfs.xfs -q -K ${device}`);
    expect(read(node, 'etc/fstab')).toMatch(
      /^UUID=[0-9a-f-]+ \/mnt\/capi_log xfs defaults,noatime,nofail 0 2$/m,
    );
    expect(first.calls).toContain(`mount ${node.root}/mnt/capi_log`);
    expect(first.calls.some((call) => /^apt-get .* install .*nginx/.test(call))).toBe(true);
    expect(exists(node, 'etc/nginx/sites-enabled/default')).toBe(false);
    expect(read(node, 'opt/capillaries/bin/capiwebapi')).toBe('ELF capiwebapi\n');
    expect(modeOf(node, 'opt/capillaries/bin/capiwebapi')).toBe('755');
    expect(read(node, 'opt/capillaries/bin/capiwebapi.json')).toContain('capiwebapi');
    expect(read(node, 'var/www/capillaries-ui/index.html')).toContain('capillaries');
    const unit = read(node, 'etc/systemd/system/node_exporter.service');
    expect(unit).toContain('Restart=on-failure');
    expect(unit).toContain('WantedBy=multi-user.target');
    expect(first.calls).toContain('systemctl enable --quiet node_exporter');

    // Act: the same install again, from the script file this time
    const before = treeState(node.root);
    const second = runDocument(node, 'capi-bastion-install', parameters, { from: 'disk' });
    // Assess
    expect(second.status, explain(second)).toBe(0);
    expect(treeDiff(before, treeState(node.root))).toEqual([]);
    expect(second.calls.filter((call) => /mkfs|restart|apt-get/.test(call))).toEqual([]);
  });

  it('fails clearly when the log volume is not attached', () => {
    // Prepare
    const parameters = parametersFor(samplePlan(), 'capi-bastion-install', 'bastion', {
      logVolumeId: 'vol-0fffffffffffffff0',
    });
    // Act
    const run = runDocument(node, 'capi-bastion-install', parameters);
    // Assess
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('log volume vol-0fffffffffffffff0 is not attached');
  });
});

describe('capi-bastion-configure', () => {
  let node: FakeNode;
  beforeEach(() => {
    node = bastion();
  });
  afterEach(() => node.cleanup());

  it('writes the allow-list, the four nginx sites and the webapi unit and settings; a re-run changes nothing', () => {
    // Prepare
    const plan = samplePlan();
    const parameters = {
      ...parametersFor(plan, 'capi-bastion-configure', 'bastion', { logVolumeId: VOLUME }),
      AllowedCidrs: '203.0.113.0/24,198.51.100.20/32',
    };
    // Act
    const first = runDocument(node, 'capi-bastion-configure', parameters);
    // Assess
    expect(first.status, explain(first)).toBe(0);
    expect(read(node, 'etc/nginx/capideploy/allowed_ips.conf')).toBe(
      '# Written by capideploy: the operator allow-list (AllowedCidrs). Loopback is allowed for health checks.\n' +
        'allow 127.0.0.1;\nallow ::1;\nallow 203.0.113.0/24;\nallow 198.51.100.20/32;\ndeny all;\n',
    );
    const allowList = 'include /etc/nginx/capideploy/allowed_ips.conf;';
    const ui = read(node, 'etc/nginx/sites-available/capi-ui');
    expect(ui).toContain('listen 80 default_server;');
    expect(ui).toContain(allowList);
    expect(ui).toContain("sub_filter 'localhost:6543' '198.51.100.7:6544';");
    expect(ui).toContain('try_files $uri $uri/ /index.html;');
    const proxies = {
      webapi: ['listen 6544;', 'proxy_pass http://127.0.0.1:6543;'],
      rabbitmq: ['listen 15672;', 'proxy_pass http://10.5.0.5:15672;'],
      prometheus: ['listen 9090;', 'proxy_pass http://10.5.0.4:9090;'],
    };
    for (const [site, lines] of Object.entries(proxies)) {
      const text = read(node, `etc/nginx/sites-available/capi-${site}`);
      for (const line of [...lines, allowList]) expect(text, site).toContain(line);
      expect(linkTarget(node, `etc/nginx/sites-enabled/capi-${site}`)).toBe(
        `/etc/nginx/sites-available/capi-${site}`,
      );
    }
    const env = read(node, 'etc/capillaries/capiwebapi.env');
    expect(modeOf(node, 'etc/capillaries/capiwebapi.env')).toBe('600');
    expect(env).toContain('CAPI_WEBAPI_PORT="6543"\n');
    expect(env).toContain('CAPI_WEBAPI_ACCESS_CONTROL_ALLOW_ORIGIN="http://198.51.100.7"\n');
    expect(env).toContain('CAPI_CASSANDRA_HOSTS="10.5.0.11,10.5.0.12,10.5.0.13,10.5.0.14"\n');
    expect(env).toContain('CAPI_CASSANDRA_USERNAME="capillaries"\n');
    expect(env).toContain(`CAPI_CASSANDRA_PASSWORD="SECRET-cass-x'y\\\\z"\n`);
    expect(env).toContain(
      'CAPI_AMQP10_URL="amqp://capiuser:SECRET-user-p%40ss%3Aw%2Frd%22q@10.5.0.5:5672/"\n',
    );
    expect(env).toContain('CAPI_AMQP10_ADDRESS="/queues/capidaemon"\n');
    expect(env).toContain('GOMEMLIMIT="2000MiB"\n');
    const unit = read(node, 'etc/systemd/system/capiwebapi.service');
    expect(unit).toContain('EnvironmentFile=/etc/capillaries/capiwebapi.env');
    expect(unit).toContain('Restart=on-failure');
    expect(unit).toContain('WantedBy=multi-user.target');
    expect(first.calls).toContain('nginx -t -q');
    expect(leakedSecrets(first)).toEqual([]);

    // Act: again, from the script file
    const before = treeState(node.root);
    const second = runDocument(node, 'capi-bastion-configure', parameters, { from: 'disk' });
    // Assess
    expect(second.status, explain(second)).toBe(0);
    expect(treeDiff(before, treeState(node.root))).toEqual([]);
    expect(second.calls.filter((call) => /restart|reload/.test(call))).toEqual([]);
    expect(leakedSecrets(second)).toEqual([]);

    // Act: the operator changes the allow-list and a Cassandra host is gone
    const third = runDocument(node, 'capi-bastion-configure', {
      ...parameters,
      AllowedCidrs: '203.0.113.0/24',
      CassandraHosts: '10.5.0.11,10.5.0.12,10.5.0.13',
    });
    // Assess: nginx reloads, the webapi restarts with its new settings
    expect(third.status, explain(third)).toBe(0);
    expect(third.calls).toEqual(
      expect.arrayContaining(['systemctl reload-or-restart nginx', 'systemctl restart capiwebapi']),
    );
    expect(read(node, 'etc/nginx/capideploy/allowed_ips.conf')).not.toContain('198.51.100.20');
  });

  it('uses the PublicAddress parameter instead of the instance metadata when given', () => {
    // Prepare
    const parameters = {
      ...parametersFor(samplePlan(), 'capi-bastion-configure', 'bastion', {
        logVolumeId: VOLUME,
        publicAddress: 'capi.example.com',
      }),
    };
    // Act
    const run = runDocument(node, 'capi-bastion-configure', parameters);
    // Assess
    expect(run.status, explain(run)).toBe(0);
    expect(run.calls.filter((call) => call.includes('169.254.169.254'))).toEqual([]);
    expect(read(node, 'etc/nginx/sites-available/capi-ui')).toContain("'capi.example.com:6544'");
  });

  it("mounts the log volume on a bastion restored from an image, replacing the image's fstab entry; a re-run changes nothing", () => {
    // Prepare: install never ran on this instance; the image's fstab names the log volume it was made with
    const image = 'UUID=deadbeef-1111-2222-3333-444455556666 /mnt/capi_log xfs defaults,noatime,nofail 0 2';
    mkdirSync(join(node.root, 'mnt/capi_log'), { recursive: true });
    writeFileSync(
      join(node.root, 'etc/fstab'),
      `LABEL=cloudimg-rootfs / ext4 discard,errors=remount-ro 0 1\n${image}\n`,
    );
    const parameters = parametersFor(samplePlan(), 'capi-bastion-configure', 'bastion', {
      logVolumeId: VOLUME,
    });
    // Act
    const first = runDocument(node, 'capi-bastion-configure', parameters);
    // Assess: the new volume is formatted and mounted, by its own UUID, in place of the image's entry
    expect(first.status, explain(first)).toBe(0);
    const device = join(node.root, 'dev/nvme1n1');
    expect(first.calls).toContain(`mkfs.xfs -q -K ${device}`);
    const fstab = read(node, 'etc/fstab');
    expect(fstab).toMatch(/^LABEL=cloudimg-rootfs \/ ext4 /m);
    expect(fstab).not.toContain(image);
    expect(fstab.match(/ \/mnt\/capi_log /g)).toHaveLength(1);
    expect(fstab).toMatch(/^UUID=[0-9a-f-]+ \/mnt\/capi_log xfs defaults,noatime,nofail 0 2$/m);
    expect(first.calls).toContain('systemctl daemon-reload');
    expect(first.calls).toContain(`mount ${node.root}/mnt/capi_log`);
    expect(first.calls).toContain(`chown capillaries:capillaries ${node.root}/mnt/capi_log`);
    expect(modeOf(node, 'mnt/capi_log')).toBe('775');

    // Act: again, from the script file
    const before = treeState(node.root);
    const second = runDocument(node, 'capi-bastion-configure', parameters, { from: 'disk' });
    // Assess
    expect(second.status, explain(second)).toBe(0);
    expect(treeDiff(before, treeState(node.root))).toEqual([]);
    expect(second.calls.filter((call) => /mkfs|mount |daemon-reload|restart|reload/.test(call))).toEqual([]);
  });

  it('leaves the log volume that install mounted as it is', () => {
    // Prepare
    const plan = samplePlan();
    const install = runDocument(
      node,
      'capi-bastion-install',
      parametersFor(plan, 'capi-bastion-install', 'bastion', { logVolumeId: VOLUME }),
    );
    expect(install.status, explain(install)).toBe(0);
    const fstab = read(node, 'etc/fstab');
    // Act
    const run = runDocument(
      node,
      'capi-bastion-configure',
      parametersFor(plan, 'capi-bastion-configure', 'bastion', { logVolumeId: VOLUME }),
    );
    // Assess
    expect(run.status, explain(run)).toBe(0);
    expect(read(node, 'etc/fstab')).toBe(fstab);
    expect(run.calls.filter((call) => /mkfs|mount /.test(call))).toEqual([]);
  });

  it('fails clearly when the log volume is not attached', () => {
    // Prepare
    const parameters = parametersFor(samplePlan(), 'capi-bastion-configure', 'bastion', {
      logVolumeId: 'vol-0fffffffffffffff0',
    });
    // Act
    const run = runDocument(node, 'capi-bastion-configure', parameters);
    // Assess
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain('log volume vol-0fffffffffffffff0 is not attached');
    expect(exists(node, 'etc/capillaries/capiwebapi.env')).toBe(false);
  });
});
