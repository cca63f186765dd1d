/**
 * Signed session cookies: the value is `<id>.<signature>`, the signature an HMAC-SHA-256 of the
 * id (Web Crypto), base64url. The first secret signs; every secret verifies, so secrets rotate
 * by putting the new one first and dropping the old one once its cookies have expired.
 *
 * A cookie value has exactly one accepted spelling: two canonical, unpadded base64url strings of
 * 32 bytes (43 characters, the last one's two unused bits zero) joined by one `.`; or, for a
 * signed-in session (docs/DESIGN.md#users), an ID of its user's routing tag (16 lowercase hex
 * digits, a hash: never the user's identifier), `!` and 24 random bytes in base64url (32
 * characters, every bit used), then `.` and the signature. Anything else (another spelling of
 * the same bytes, padding, percent-encoding, quotes, spaces) is no session, so no altered cookie
 * opens one.
 */

const encoder = new TextEncoder();

/** Bytes of entropy of a session ID: 256 bits. */
export const SESSION_ID_BYTES = 32;

/**
 * 32 bytes in canonical base64url: 42 free characters, then one whose two low bits (unused by
 * the 256 bits) are zero.
 */
const CANONICAL_32_BYTES = "[A-Za-z0-9_-]{42}[AEIMQUYcgkosw048]";

/** A signed-in session's ID (`signedInKey`): the user's routing tag, `!`, 24 random bytes. */
const SIGNED_IN_ID = "[0-9a-f]{16}![A-Za-z0-9_-]{32}";

/** The one accepted form of a cookie value: `<id>.<signature>`, both canonical. */
const COOKIE_VALUE = new RegExp(
  `^(${CANONICAL_32_BYTES}|${SIGNED_IN_ID})\\.(${CANONICAL_32_BYTES})$`,
);

/** A new random session ID (256 bits, base64url, 43 characters). */
export function newSessionId(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(SESSION_ID_BYTES)));
}

/** Signs and verifies cookie values with a list of secrets. */
export class CookieSigner {
  readonly #keys: Promise<CryptoKey[]>;

  constructor(secrets: readonly string[]) {
    // Checked as the caller may pass anything: a secret read from an unset binding is undefined.
    const given: readonly unknown[] = secrets;
    if (given.length === 0 || given.some((s) => typeof s !== "string" || s === "")) {
      throw new TypeError(
        `sessions(): the \`secret\` option gave no secret (${given.length === 0 ? "an empty list" : describe(given.find((s) => typeof s !== "string" || s === ""))}). Set it to a string of at least 32 characters, e.g. from \`openssl rand -base64 48\`: in a Worker, a secret read from \`c.env\` (\`npx wrangler secret put SESSION_SECRET\`; locally, a line \`SESSION_SECRET=…\` in .dev.vars).`,
      );
    }
    if (secrets.some((s) => s.length < 32)) {
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

  /**
   * The id of a cookie value signed with any of the secrets; `undefined` for anything else,
   * including any spelling of it but the canonical one (see above). Give the cookie's raw value
   * (`rawCookie`), not one a cookie parser decoded or unquoted.
   */
  async verify(value: string | undefined): Promise<string | undefined> {
    const match = value === undefined ? null : COOKIE_VALUE.exec(value);
    if (match === null) return undefined;
    const [, id, encoded] = match as unknown as [string, string, string];
    const signature = fromBase64url(encoded);
    for (const key of await this.#keys) {
      // crypto.subtle.verify compares in constant time.
      if (await crypto.subtle.verify("HMAC", key, signature, encoder.encode(id))) return id;
    }
    return undefined;
  }
}

/**
 * The raw value of cookie `name` in a `Cookie` header, as the browser sent it: not
 * percent-decoded, not unquoted (unlike a general cookie parser), so that `verify` sees exactly
 * what the browser holds. The first cookie of that name counts.
 */
export function rawCookie(header: string | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  for (const pair of header.split(";")) {
    const eq = pair.indexOf("=");
    if (eq !== -1 && pair.slice(0, eq).trim() === name) return pair.slice(eq + 1).trim();
  }
  return undefined;
}

/** What a secret that is no secret was, for the error message (never a secret's text). */
function describe(value: unknown): string {
  return value === "" ? "an empty string" : value === null ? "null" : typeof value;
}

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** The bytes of a base64url string already checked to be canonical. */
function fromBase64url(text: string): Uint8Array {
  const binary = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0));
}
