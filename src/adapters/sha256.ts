// SHA-256 digests through Web Crypto (`crypto.subtle`), available in browsers and Node 20+.

import { IntegrityError } from "../errors.js";

/** Returns the lowercase hex SHA-256 of `bytes`. */
export async function sha256Hex(bytes: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/** Throws `IntegrityError` naming `resource` when the digest of `bytes` is not `expected`. */
export async function verifySha256(bytes: Uint8Array, expected: string, resource: string): Promise<void> {
  const actual = await sha256Hex(bytes);
  if (actual !== expected.toLowerCase()) throw new IntegrityError(resource, expected, actual);
}
