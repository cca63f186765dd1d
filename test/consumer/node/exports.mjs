// Prints the names each entry point of the installed package exports, as JSON. The Durable Object
// entry imports `cloudflare:workers`, which only workerd provides: a stand-in lets Node list it.
import { register } from "node:module";

const hooks = `
export async function resolve(specifier, context, next) {
  if (specifier !== "cloudflare:workers") return next(specifier, context);
  return { url: "data:text/javascript,export class DurableObject {}", shortCircuit: true };
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);

const entries = [
  "edge-sessions",
  "edge-sessions/hono",
  "edge-sessions/react-router",
  "edge-sessions/unstorage",
  "edge-sessions/durable-object",
];
/** @type {Record<string, string[]>} */
/** @type {Record<string, string[]>} */
const names = {};
for (const entry of entries) names[entry] = Object.keys(await import(entry)).sort();
console.log(JSON.stringify(names, null, 2));
