import { commitSession, getSession } from "../sessions.server";

export async function action({ request }: { request: Request }) {
  const session = await getSession(request.headers.get("Cookie"));
  session.set("user", "fred");
  session.set("count", 0);
  const cookie = await commitSession(session);
  return Response.json({ user: "fred" }, { headers: { "Set-Cookie": cookie } });
}
