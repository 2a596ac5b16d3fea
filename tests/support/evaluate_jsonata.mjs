// Evaluates JSONata expressions the way Step Functions does, and validates ASL documents, for the
// tests. One request per line, for as long as stdin stays open (one process serves a test process):
// stdin line:  [{"expression": "...", "bindings": {"states": {...}, "dataset": "..."}}, ...]
// stdout line: [{"value": ...} | {"error": "..."}, ...]
// stdin line:  {"validate": <state machine definition>}
// stdout line: {"errors": "<asl-validator's findings>" | null}
import jsonata from "jsonata";
import aslValidator from "asl-validator";
import { createInterface } from "node:readline";

for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  if (!line.trim()) continue;
  const request = JSON.parse(line);
  if (!Array.isArray(request)) {
    // What the asl-validator CLI checks by default: JSONPath and JSONata syntax, and ARNs.
    const result = aslValidator(request.validate, { checkArn: true, checkPaths: true });
    process.stdout.write(JSON.stringify({ errors: result.isValid ? null : result.errorsText() }) + "\n");
    continue;
  }
  const results = [];
  for (const { expression, bindings } of request) {
    try {
      const value = await jsonata(expression).evaluate({}, bindings);
      results.push(value === undefined ? { undefined: true } : { value });
    } catch (error) {
      results.push({ error: error.message });
    }
  }
  process.stdout.write(JSON.stringify(results) + "\n");
}
