// Placeholder Durable Object so the toolchain works before the real one lands.
import { DurableObject } from "cloudflare:workers";

export class SessionManagerObject extends DurableObject<Cloudflare.Env> {
  ping(): string {
    return "pong";
  }
}
