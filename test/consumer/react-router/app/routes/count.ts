import { ConflictError } from "edge-sessions";
import { commitSession, getSession } from "../sessions.server";

export async function loader({ request }: { request: Request }) {
  const session = await getSession(request.headers.get("Cookie"));
  return Response.json({ user: session.get("user") ?? null, count: session.get("count") ?? 0 });
}

export async function action({ request }: { request: Request }) {
  const session = await getSession(request.headers.get("Cookie"));
  const count = (session.get("count") ?? 0) + 1;
  session.set("count", count);
  try {
    const cookie = await commitSession(session);
    return Response.json({ count }, { headers: { "Set-Cookie": cookie } });
  } catch (error) {
    // Another request changed the count since this one read it: nothing of this one is stored.
    if (error instanceof ConflictError) return Response.json({ conflict: true }, { status: 409 });
    throw error;
  }
}
