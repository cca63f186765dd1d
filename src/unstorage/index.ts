// unstorage: a driver backed by edge sessions (Astro sessions, Nitro/Nuxt, h3). The public API of
// the `./unstorage` entry; its default export is the driver, as Astro's `entrypoint` expects.
export {
  type EdgeSessionsDriverOptions,
  edgeSessionsDriver,
  edgeSessionsDriver as default,
} from "./driver.js";
