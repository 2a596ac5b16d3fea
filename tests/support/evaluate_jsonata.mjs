// Evaluates JSONata expressions the way Step Functions does, for the tests.
// stdin: [{"expression": "...", "bindings": {"states": {...}, "dataset": "..."}}, ...]
// stdout: [{"value": ...} | {"error": "..."}, ...]
import jsonata from "jsonata";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const cases = JSON.parse(Buffer.concat(chunks).toString("utf8"));
const results = [];
for (const { expression, bindings } of cases) {
  try {
    const value = await jsonata(expression).evaluate({}, bindings);
    results.push(value === undefined ? { undefined: true } : { value });
  } catch (error) {
    results.push({ error: error.message });
  }
}
process.stdout.write(JSON.stringify(results));
