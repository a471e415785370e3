import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { loadDocuments } from '../src/provisioning/documents.js';

/**
 * The SSM Command documents of `provisioning-docs/`, scripts inlined, one `AWS::SSM::Document` each. The document
 * name is exactly the file's base name (`capi-cassandra-install`): the Provisioning handler sends commands by
 * that name, so there is no prefix to pass around. A new content becomes a new default version.
 */
class ProvisioningDocuments extends Construct {
  /** The documents by name. */
  readonly documents: Record<string, ssm.CfnDocument> = {};

  constructor(scope: Construct, id: string) {
    super(scope, id);
    for (const [name, content] of Object.entries(loadDocuments())) {
      this.documents[name] = new ssm.CfnDocument(this, name, {
        name,
        documentType: 'Command',
        documentFormat: 'JSON',
        content,
        updateMethod: 'NewVersion',
      });
    }
  }
}

export { ProvisioningDocuments };
