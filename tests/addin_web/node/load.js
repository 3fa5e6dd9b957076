// Loads the add-in's lib modules the way a page does (each registers itself on globalThis.mailbeacon).
"use strict";
const path = require("node:path");

const SRC = path.resolve(__dirname, "../../../addin-manifest/src");

function lib(name) {
  return require(path.join(SRC, "lib", name + ".js"));
}

module.exports = { SRC, lib };
