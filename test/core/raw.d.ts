// Files imported as text (`import text from "./file?raw"`), as Vite (and so Vitest) serves them.
declare module "*?raw" {
  const text: string;
  export default text;
}
