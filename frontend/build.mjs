// Copies the browser builds of the npm dependencies into static/vendor/.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "static", "vendor");
const files = {
  "htmx.org/dist/htmx.min.js": "htmx.min.js",
  "chart.js/dist/chart.umd.js": "chart.umd.js",
  "chartjs-adapter-date-fns/dist/chartjs-adapter-date-fns.bundle.min.js":
    "chartjs-adapter-date-fns.bundle.min.js",
  "@xterm/xterm/lib/xterm.js": "xterm.js",
  "@xterm/xterm/css/xterm.css": "xterm.css",
  "@xterm/addon-fit/lib/addon-fit.js": "addon-fit.js",
};
mkdirSync(out, { recursive: true });
// Source maps are not shipped: drop the references so hashed static storage can resolve all.
const sourceMap = /^\/[/*][#@] sourceMappingURL=.*$/gm;
for (const [src, dest] of Object.entries(files)) {
  const text = readFileSync(join(here, "node_modules", src), "utf8");
  writeFileSync(join(out, dest), text.replace(sourceMap, ""));
}
console.log(`copied ${Object.keys(files).length} files to ${out}`);
