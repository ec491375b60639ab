/** A throw-away certificate authority, made with openssl at test time: a server and a client certificate. */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const openssl = (...args: string[]) => promisify(execFile)('openssl', args, { timeout: 60_000 });

export interface TestCertificates {
  readonly dir: string;
  readonly caCert: string;
  readonly serverCert: string;
  readonly serverKey: string;
  readonly clientCert: string;
  readonly clientKey: string;
  remove(): Promise<void>;
}

async function signed(dir: string, name: string, subject: string, extensions: string): Promise<void> {
  const file = (suffix: string) => path.join(dir, `${name}${suffix}`);
  await openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    file('.key'),
    '-out',
    file('.csr'),
    '-subj',
    subject,
  );
  await writeFile(file('.ext'), extensions);
  await openssl(
    'x509',
    '-req',
    '-in',
    file('.csr'),
    '-CA',
    path.join(dir, 'ca.crt'),
    '-CAkey',
    path.join(dir, 'ca.key'),
    '-CAcreateserial',
    '-out',
    file('.crt'),
    '-days',
    '1',
    '-extfile',
    file('.ext'),
  );
}

export async function makeTestCertificates(): Promise<TestCertificates> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ackstate-tls-'));
  await openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    path.join(dir, 'ca.key'),
    '-out',
    path.join(dir, 'ca.crt'),
    '-days',
    '1',
    '-subj',
    '/CN=ackstate test CA',
  );
  await signed(
    dir,
    'server',
    '/CN=localhost',
    'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n',
  );
  await signed(dir, 'client', '/CN=ackstate-client', 'extendedKeyUsage=clientAuth\n');
  return {
    dir,
    caCert: path.join(dir, 'ca.crt'),
    serverCert: path.join(dir, 'server.crt'),
    serverKey: path.join(dir, 'server.key'),
    clientCert: path.join(dir, 'client.crt'),
    clientKey: path.join(dir, 'client.key'),
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}
