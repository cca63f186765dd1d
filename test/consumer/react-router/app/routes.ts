import { type RouteConfig, route } from "@react-router/dev/routes";

export default [
  route("login", "routes/login.ts"),
  route("count", "routes/count.ts"),
  route("logout", "routes/logout.ts"),
] satisfies RouteConfig;
