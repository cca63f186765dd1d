import { destroySession, getSession } from "../sessions.server";

export async function action({ request }: { request: Request }) {
  const session = await getSession(request.headers.get("Cookie"));
  const cookie = await destroySession(session);
  return new Response(null, { status: 204, headers: { "Set-Cookie": cookie } });
}
