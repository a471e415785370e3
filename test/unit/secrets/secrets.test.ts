import {
  DeleteParametersCommand,
  GetParametersByPathCommand,
  PutParameterCommand,
  type PutParameterCommandInput,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { handler } from '../../../functions/secrets/handler.js';
import { deleteSecrets, ensureSecrets } from '../../../functions/secrets/secrets.js';
import { awsError, deploymentTags, expectNamedError, RAW_SPEC, sampleContext } from '../helpers.js';

const ssmMock = mockClient(SSMClient);

const PATH = '/capideploy/sample/';
const NAMES = [
  '/capideploy/sample/rabbitmq/admin-password',
  '/capideploy/sample/rabbitmq/user-password',
  '/capideploy/sample/cassandra/password',
];

const puts = () =>
  ssmMock.commandCalls(PutParameterCommand).map((call) => call.args[0].input as PutParameterCommandInput);

beforeEach(() => {
  ssmMock.reset();
});

describe('ensureSecrets', () => {
  it('stores each secret as a SecureString with the deployment tags and a strong random value', async () => {
    // Prepare
    ssmMock.on(GetParametersByPathCommand).resolves({ Parameters: [] });
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
    // Act
    const result = await ensureSecrets(sampleContext());
    // Assess
    expect(result).toEqual({ parameters: NAMES, created: 3 });
    expect(ssmMock).toHaveReceivedCommandWith(GetParametersByPathCommand, { Path: PATH, Recursive: true });
    const inputs = puts();
    expect(inputs.map((input) => input.Name)).toEqual(NAMES);
    for (const input of inputs) {
      expect(input.Type).toBe('SecureString');
      expect(input.Overwrite).toBeFalsy();
      expect(input.Tags).toEqual(expect.arrayContaining(deploymentTags(input.Name!)));
      expect(input.Value).toMatch(/^[A-Za-z0-9_-]{43}$/);
    }
    expect(new Set(inputs.map((input) => input.Value)).size).toBe(3);
    // Values never leave the handler.
    for (const input of inputs) expect(JSON.stringify(result)).not.toContain(input.Value!);
  });

  it('writes nothing when every secret exists, across pages', async () => {
    // Prepare
    ssmMock
      .on(GetParametersByPathCommand)
      .resolvesOnce({ Parameters: [{ Name: NAMES[0] }, { Name: NAMES[1] }], NextToken: 'page-2' })
      .resolvesOnce({ Parameters: [{ Name: NAMES[2] }] });
    // Act
    const result = await ensureSecrets(sampleContext());
    // Assess
    expect(result).toEqual({ parameters: NAMES, created: 0 });
    expect(ssmMock).toHaveReceivedCommandTimes(GetParametersByPathCommand, 2);
    expect(ssmMock).toHaveReceivedNthCommandWith(GetParametersByPathCommand, 2, { NextToken: 'page-2' });
    expect(ssmMock).not.toHaveReceivedCommand(PutParameterCommand);
  });

  it('creates only the missing secret, never overwriting the others', async () => {
    // Prepare
    ssmMock.on(GetParametersByPathCommand).resolves({ Parameters: [{ Name: NAMES[0] }, { Name: NAMES[2] }] });
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
    // Act
    const result = await ensureSecrets(sampleContext());
    // Assess
    expect(result.created).toBe(1);
    expect(ssmMock).toHaveReceivedCommandExactlyOnceWith(PutParameterCommand, { Name: NAMES[1] });
  });

  it('turns AccessDeniedException of the put into AccessDenied naming the parameter', async () => {
    // Prepare
    ssmMock.on(GetParametersByPathCommand).resolves({ Parameters: [] });
    ssmMock
      .on(PutParameterCommand)
      .rejects(awsError('AccessDeniedException', 'not authorized to perform: ssm:PutParameter'));
    // Act + Assess
    await expectNamedError(ensureSecrets(sampleContext()), 'AccessDenied', {
      resource: `secret ${NAMES[0]}`,
      awsError: 'AccessDeniedException',
      message: 'not authorized to perform: ssm:PutParameter',
    });
  });

  it('turns ThrottlingException of the listing into Throttled', async () => {
    // Prepare
    ssmMock.on(GetParametersByPathCommand).rejects(awsError('ThrottlingException', 'Rate exceeded'));
    // Act + Assess
    await expectNamedError(ensureSecrets(sampleContext()), 'Throttled', {
      resource: `secrets under ${PATH}`,
      awsError: 'ThrottlingException',
    });
    expect(ssmMock).not.toHaveReceivedCommand(PutParameterCommand);
  });
});

describe('deleteSecrets', () => {
  it('deletes every parameter under the path in batches of ten', async () => {
    // Prepare
    const names = Array.from({ length: 12 }, (_, i) => `${PATH}extra/${i}`);
    ssmMock.on(GetParametersByPathCommand).resolves({ Parameters: names.map((Name) => ({ Name })) });
    ssmMock.on(DeleteParametersCommand).resolves({});
    // Act
    const result = await deleteSecrets(sampleContext());
    // Assess
    expect(result).toEqual({ deleted: names });
    expect(ssmMock).toHaveReceivedCommandTimes(DeleteParametersCommand, 2);
    expect(ssmMock).toHaveReceivedNthCommandWith(DeleteParametersCommand, 1, { Names: names.slice(0, 10) });
    expect(ssmMock).toHaveReceivedNthCommandWith(DeleteParametersCommand, 2, { Names: names.slice(10) });
  });

  it('does nothing when no parameter is left', async () => {
    // Prepare
    ssmMock.on(GetParametersByPathCommand).resolves({});
    // Act
    const result = await deleteSecrets(sampleContext());
    // Assess
    expect(result).toEqual({ deleted: [] });
    expect(ssmMock).not.toHaveReceivedCommand(DeleteParametersCommand);
  });

  it('turns a delete error into a named error naming the path', async () => {
    // Prepare
    ssmMock.on(GetParametersByPathCommand).resolves({ Parameters: [{ Name: NAMES[0] }] });
    ssmMock.on(DeleteParametersCommand).rejects(awsError('InternalServerError'));
    // Act + Assess
    await expectNamedError(deleteSecrets(sampleContext()), 'ServiceUnavailable', {
      resource: `secrets under ${PATH}`,
      awsError: 'InternalServerError',
    });
  });
});

describe('secrets handler', () => {
  it('ensures through the handler with the SSM client it builds', async () => {
    // Prepare
    ssmMock.on(GetParametersByPathCommand).resolves({ Parameters: [] });
    ssmMock.on(PutParameterCommand).resolves({ Version: 1 });
    // Act
    const result = await handler({ action: 'ensure', spec: RAW_SPEC });
    // Assess
    expect(result).toEqual({ parameters: NAMES, created: 3 });
    expect(ssmMock).toHaveReceivedCommandTimes(PutParameterCommand, 3);
  });

  it('rejects a bad action with InvalidSpec', async () => {
    // Act
    await expectNamedError(handler({ action: 'rotate', spec: RAW_SPEC }), 'InvalidSpec', {
      resource: 'input of secrets',
    });
    // Assess
    expect(ssmMock.calls()).toHaveLength(0);
  });
});
