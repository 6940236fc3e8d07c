// TLS for local HTTPS servers the API server calls (the admission webhook): a CA of this run and a server
// certificate it signed, so the webhook configuration's caBundle can pin it.
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

export interface LocalTls {
  /** The CA that signed `cert`, PEM: what a client trusts (e.g. a webhook's caBundle). */
  ca: string;
  key: string;
  cert: string;
}

/**
 * A throwaway CA and a server certificate for `ip` signed by it, made with the openssl CLI for this run
 * only (valid `days`; nothing is kept on disk).
 */
export async function localTls(ip = '127.0.0.1', days = 1): Promise<LocalTls> {
  const run = promisify(execFile);
  const dir = await mkdtemp(join(tmpdir(), 'ibcp-tls-'));
  const file = (name: string) => join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  try {
    await run('openssl', [
      'req',
      '-x509',
      ...ec,
      '-keyout',
      file('ca.key'),
      '-out',
      file('ca.crt'),
      '-days',
      String(days),
      '-subj',
      '/CN=ibcp-local-ca',
      '-addext',
      'basicConstraints=critical,CA:TRUE',
      '-addext',
      'keyUsage=critical,keyCertSign,cRLSign',
    ]);
    await run('openssl', [
      'req',
      ...ec,
      '-keyout',
      file('server.key'),
      '-out',
      file('server.csr'),
      '-subj',
      `/CN=${ip}`,
    ]);
    await writeFile(
      file('server.ext'),
      `subjectAltName=IP:${ip}\nextendedKeyUsage=serverAuth\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\n`,
    );
    await run('openssl', [
      'x509',
      '-req',
      '-in',
      file('server.csr'),
      '-CA',
      file('ca.crt'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-out',
      file('server.crt'),
      '-days',
      String(days),
      '-extfile',
      file('server.ext'),
    ]);
    const [ca, key, cert] = await Promise.all(
      ['ca.crt', 'server.key', 'server.crt'].map((name) => readFile(file(name), 'utf8')),
    );
    return { ca: ca!, key: key!, cert: cert! };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
