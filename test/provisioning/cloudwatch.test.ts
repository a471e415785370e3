import { afterAll, describe, expect, it } from 'vitest';
import {
  explain,
  type FakeNode,
  fakeNode,
  parametersFor,
  read,
  runDocument,
  samplePlan,
  treeDiff,
  treeState,
} from './harness.js';

/** capi-cloudwatch-agent on one node: the node's name from its Name tag, idempotence, a node without tags. */

const CONFIG = 'opt/aws/amazon-cloudwatch-agent/etc/capideploy.json';
const nodes: FakeNode[] = [];
afterAll(() => {
  for (const node of nodes) node.cleanup();
});

const agentParameters = (nickname: string) => parametersFor(samplePlan(), 'capi-cloudwatch-agent', nickname);

describe('capi-cloudwatch-agent', () => {
  it('names the streams after the Name tag of the instance metadata, and a second run changes nothing', () => {
    // Prepare
    const node = fakeNode({ arch: 'amd64', nameTag: 'sample-daemon002' });
    nodes.push(node);
    const parameters = agentParameters('daemon002');
    // Act
    const first = runDocument(node, 'capi-cloudwatch-agent', parameters);
    const before = treeState(node.root);
    const second = runDocument(node, 'capi-cloudwatch-agent', parameters, { from: 'disk' });
    // Assess
    expect(first.status, explain(first)).toBe(0);
    expect(first.calls).toContain(
      'curl -fsS --connect-timeout 2 -H @/dev/fd/63 http://169.254.169.254/latest/meta-data/tags/instance/Name',
    );
    const config = JSON.parse(read(node, CONFIG));
    expect(
      config.logs.logs_collected.files.collect_list.map(
        (entry: { log_stream_name: string }) => entry.log_stream_name,
      ),
    ).toEqual(['daemon002/capidaemon', 'daemon002/ssm']);
    expect(first.calls.filter((call) => call.startsWith('amazon-cloudwatch-agent-ctl'))).toHaveLength(1);
    expect(second.status, explain(second)).toBe(0);
    expect(treeDiff(before, treeState(node.root))).toEqual([]);
    expect(second.calls.filter((call) => call.endsWith('amazon-cloudwatch-agent.deb'))).toEqual([]);
    expect(
      second.calls.filter(
        (call) => call.startsWith('dpkg -i') || call.startsWith('amazon-cloudwatch-agent-ctl'),
      ),
    ).toEqual([]);
  });

  it('fails with a clear message when the instance metadata has no tags, installing nothing', () => {
    // Prepare: no Name tag in the metadata (InstanceMetadataTags disabled: IMDS answers 404)
    const node = fakeNode({ arch: 'arm64' });
    nodes.push(node);
    // Act
    const run = runDocument(node, 'capi-cloudwatch-agent', agentParameters('cass001'));
    // Assess
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain(
      'ERROR: cannot read the Name tag from the instance metadata (meta-data/tags/instance/Name): instance metadata tags must be enabled',
    );
    expect(run.calls.filter((call) => call.startsWith('dpkg -i'))).toEqual([]);
  });

  it('refuses a Name tag of another deployment', () => {
    // Prepare
    const node = fakeNode({ nameTag: 'other-cass001' });
    nodes.push(node);
    // Act
    const run = runDocument(node, 'capi-cloudwatch-agent', agentParameters('cass001'));
    // Assess
    expect(run.status).not.toBe(0);
    expect(run.stderr).toContain("ERROR: the Name tag 'other-cass001' is not sample-<node>");
  });
});
