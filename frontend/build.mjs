// Bundles the portal's browser modules into src/backbone/web/static/build/, where Backbone serves
// them itself: nothing is fetched from elsewhere at run time. Deterministic: the same sources and
// package-lock.json give the same bytes (no timestamps, no content hashes in names).
import { build } from "esbuild";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const output = join(here, "..", "src", "backbone", "web", "static", "build");

await mkdir(output, { recursive: true });
await build({
  entryPoints: {
    portal: join(here, "src", "portal.js"),
    certificates: join(here, "src", "certificates.js"),
    passkeys: join(here, "src", "passkeys.js"),
    apidocs: join(here, "src", "apidocs.js"),
    trading: join(here, "src", "trading.js"),
  },
  outdir: output,
  bundle: true,
  format: "esm",
  target: ["chrome110", "firefox110", "safari16"],
  minify: true,
  sourcemap: true,
  // Maps point at the sources (frontend/src, node_modules) instead of copying them: the served
  // directory then holds only what Backbone wrote and the packages' licences, not their full text.
  sourcesContent: false,
  legalComments: "linked",
  logLevel: "warning",
});
// The stamp make compares against the sources; its content names what was built.
await writeFile(join(output, ".built"), "portal.js certificates.js passkeys.js apidocs.js trading.js\n");
