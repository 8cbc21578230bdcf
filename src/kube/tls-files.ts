import { createHash, X509Certificate } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createSecureContext } from 'node:tls';
import { BreakwaterError, ErrorCode } from '../errors/index.ts';

/** A certificate and its key as read from their files, checked to form a usable pair. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** sha256 of both files' bytes: a reload with the same bytes is skipped. */
  readonly digest: string;
  /** The leaf certificate's notAfter (ms since the epoch). */
  readonly notAfterMs: number;
  /** SHA-256 fingerprint of the leaf certificate, for the log. */
  readonly fingerprint: string;
}

function certificateError(message: string, cause?: unknown): BreakwaterError {
  return new BreakwaterError(ErrorCode.CERTIFICATE_INVALID, message, { cause });
}

/** sha256 over the bytes of a certificate and key pair. */
export function tlsDigest(cert: Buffer, key: Buffer): string {
  return createHash('sha256').update(cert).update('\0').update(key).digest('hex');
}

/** Reads both files; throws `BW_ERR_CERTIFICATE_INVALID` naming the file that cannot be read. */
export async function readTlsFiles(
  certFile: string,
  keyFile: string,
): Promise<{ cert: Buffer; key: Buffer }> {
  const read = async (file: string, what: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (err) {
      throw certificateError(
        `cannot read the ${what} ${file}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
        err,
      );
    }
  };
  return { cert: await read(certFile, 'certificate'), key: await read(keyFile, 'key') };
}

/**
 * Checks that `cert` (PEM, leaf first) and `key` make a TLS context: OpenSSL refuses a key that is
 * not the certificate's (`key values mismatch`), which is what a reload sees when it reads the
 * files halfway through a rotation. Throws `BW_ERR_CERTIFICATE_INVALID`.
 */
export function checkTls(cert: Buffer, key: Buffer, certFile: string, keyFile: string): TlsMaterial {
  let leaf: X509Certificate;
  try {
    createSecureContext({ cert, key });
    leaf = new X509Certificate(cert);
  } catch (err) {
    throw certificateError(
      `${certFile} and ${keyFile} are not a usable certificate and key: ${(err as Error).message}`,
      err,
    );
  }
  return {
    cert,
    key,
    digest: tlsDigest(cert, key),
    notAfterMs: Date.parse(leaf.validTo),
    fingerprint: leaf.fingerprint256,
  };
}
