/**
 * Signed session cookies: the value is `<id>.<signature>`, the signature an HMAC-SHA-256 of the
 * id (Web Crypto), base64url. The first secret signs; every secret verifies, so secrets rotate
 * by putting the new one first and dropping the old one once its cookies have expired.
 */

const encoder = new TextEncoder();

/** Bytes of entropy of a session ID: 256 bits. */
export const SESSION_ID_BYTES = 32;

/** A new random session ID (256 bits, base64url, 43 characters). */
export function newSessionId(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(SESSION_ID_BYTES)));
}

/** Signs and verifies cookie values with a list of secrets. */
export class CookieSigner {
  readonly #keys: Promise<CryptoKey[]>;

  constructor(secrets: readonly string[]) {
    if (secrets.length === 0 || secrets.some((s) => typeof s !== "string" || s.length < 32)) {
      throw new TypeError(
        "sessions(): give `secret` as a string of at least 32 characters (or a list of them, newest first), e.g. from `openssl rand -base64 48`.",
      );
    }
    this.#keys = Promise.all(
      secrets.map((secret) =>
        crypto.subtle.importKey(
          "raw",
          encoder.encode(secret),
          { name: "HMAC", hash: "SHA-256" },
          false,
          ["sign", "verify"],
        ),
      ),
    );
  }

  /** `<id>.<signature>` with the first secret. */
  async sign(id: string): Promise<string> {
    const [key] = await this.#keys;
    const signature = await crypto.subtle.sign("HMAC", key as CryptoKey, encoder.encode(id));
    return `${id}.${base64url(new Uint8Array(signature))}`;
  }

  /** The id of a cookie value signed with any of the secrets; `undefined` for anything else. */
  async verify(value: string | undefined): Promise<string | undefined> {
    if (value === undefined || value.length > 200) return undefined;
    const dot = value.lastIndexOf(".");
    if (dot <= 0) return undefined;
    const id = value.slice(0, dot);
    const signature = fromBase64url(value.slice(dot + 1));
    if (signature === undefined) return undefined;
    for (const key of await this.#keys) {
      // crypto.subtle.verify compares in constant time.
      if (await crypto.subtle.verify("HMAC", key, signature, encoder.encode(id))) return id;
    }
    return undefined;
  }
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

function fromBase64url(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return undefined;
  try {
    const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
    return Uint8Array.from(binary, (c) => c.charCodeAt(0));
  } catch {
    return undefined; // not base64 of whole bytes
  }
}
