// Copies the browser builds of the npm dependencies into static/vendor/.
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "static", "vendor");
const files = {
  "htmx.org/dist/htmx.min.js": "htmx.min.js",
  "chart.js/dist/chart.umd.js": "chart.umd.js",
  "chartjs-adapter-date-fns/dist/chartjs-adapter-date-fns.bundle.min.js": "chartjs-adapter-date-fns.bundle.min.js",
  "@xterm/xterm/lib/xterm.js": "xterm.js",
  "@xterm/xterm/css/xterm.css": "xterm.css",
  "@xterm/addon-fit/lib/addon-fit.js": "addon-fit.js",
};
mkdirSync(out, { recursive: true });
for (const [src, dest] of Object.entries(files)) {
  copyFileSync(join(here, "node_modules", src), join(out, dest));
}
console.log(`copied ${Object.keys(files).length} files to ${out}`);
