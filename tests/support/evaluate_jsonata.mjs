// Evaluates JSONata expressions the way Step Functions does, for the tests.
// One batch per line, for as long as stdin stays open (one process serves a whole test run):
// stdin line:  [{"expression": "...", "bindings": {"states": {...}, "dataset": "..."}}, ...]
// stdout line: [{"value": ...} | {"error": "..."}, ...]
import jsonata from "jsonata";
import { createInterface } from "node:readline";

for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (!line.trim()) continue;
  const results = [];
  for (const { expression, bindings } of JSON.parse(line)) {
    try {
      const value = await jsonata(expression).evaluate({}, bindings);
      results.push(value === undefined ? { undefined: true } : { value });
    } catch (error) {
      results.push({ error: error.message });
    }
  }
  process.stdout.write(JSON.stringify(results) + "\n");
}
