// Validates an OpenAPI document with @apidevtools/swagger-parser: the document against the
// OpenAPI schema of its version, every $ref resolved, and the rules the schema cannot express
// (unique operation ids, path parameters declared, …). Exits non-zero when it is invalid.
//
// Usage: node validate.mjs <openapi.json>
import { readFile } from "node:fs/promises";
import SwaggerParser from "@apidevtools/swagger-parser";

const file = process.argv[2];
if (!file) {
  console.error("usage: node validate.mjs <openapi.json>");
  process.exit(2);
}
const doc = JSON.parse(await readFile(file, "utf8"));
try {
  const api = await SwaggerParser.validate(doc);
  const operations = Object.values(api.paths).reduce(
    (n, item) =>
      n + ["get", "put", "post", "delete", "options", "head", "patch", "trace"].filter((m) => m in item).length,
    0,
  );
  console.log(
    `${file}: valid OpenAPI ${api.openapi} (${Object.keys(api.paths).length} paths, ${operations} operations)`,
  );
} catch (err) {
  console.error(`${file}: invalid OpenAPI document`);
  console.error(err.message);
  for (const detail of err.details ?? []) console.error(JSON.stringify(detail));
  process.exit(1);
}
