import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runCommand } from './processes.js';

/** The harness's admin (static token, `system:masters`): its requests stay out of the audit log. */
export const ADMIN_USER = 'ibcp-admin';

export interface ClientCa {
  cert: string;
  key: string;
}

/**
 * A CA the apiserver trusts for client certificates (`--client-ca-file`), so a test can sign in as any
 * user and groups (CN and O), the way an EKS access entry maps a role to groups; never `system:masters`.
 */
export async function createClientCa(dir: string): Promise<ClientCa> {
  const ca = { cert: join(dir, 'client-ca.crt'), key: join(dir, 'client-ca.key') };
  await createCertificate({ ...ca, subject: '/CN=ibcp-client-ca', days: 7 });
  return ca;
}

/**
 * An EC P-256 key and certificate: self-signed, or a client certificate signed by `signedBy` (the client
 * CA above), which is how a test identity signs in.
 */
export async function createCertificate(request: {
  key: string;
  cert: string;
  subject: string;
  days: number;
  signedBy?: ClientCa;
}): Promise<void> {
  const { key, cert, subject, days, signedBy } = request;
  const signing = signedBy
    ? [
        ...['-CA', signedBy.cert, '-CAkey', signedBy.key],
        ...['-addext', 'basicConstraints=critical,CA:FALSE', '-addext', 'extendedKeyUsage=clientAuth'],
      ]
    : [];
  await runCommand('kubernetes', 'openssl', [
    ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'],
    ...['-keyout', key, '-out', cert, '-subj', subject, '-days', String(days)],
    ...signing,
  ]);
}

/**
 * An audit policy recording the metadata of every request except the admin's (the test fixtures, the
 * controller-manager, the scheduler and KWOK all use the admin token): what each test identity sent.
 */
export async function writeAuditPolicy(dir: string): Promise<string> {
  const policy = join(dir, 'audit-policy.yaml');
  await writeFile(
    policy,
    `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived, ResponseStarted]
rules:
  - level: None
    users: [${ADMIN_USER}]
  - level: Metadata
`,
  );
  return policy;
}
