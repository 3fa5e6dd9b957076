// Reads [[content, contentType], ...] as JSON on stdin; prints the add-in's digest of each (or null) as JSON.
"use strict";
const { lib } = require("./load");

const text = lib("text");
let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", async () => {
  const samples = JSON.parse(input);
  const digests = [];
  for (const [content, type] of samples) digests.push(await text.textDigest(content, type));
  process.stdout.write(JSON.stringify(digests));
});
