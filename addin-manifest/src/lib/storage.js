/* mailbeacon add-in: a little persistent storage for the sign-in, shared by the task pane and the event runtime.
 *
 * In the browser runtimes (Outlook on the web, new Outlook, Mac) both are pages of our origin and share its
 * localStorage. Classic Outlook's JavaScript-only event runtime has no localStorage, only OfficeRuntime.storage,
 * so writes go to every store that exists and reads take the first that answers.
 */
(function (root, factory) {
  "use strict";
  const mod = factory(root);
  (root.mailbeacon = root.mailbeacon || {}).storage = mod;
  if (typeof module === "object" && module.exports) module.exports = mod;
})(typeof globalThis !== "undefined" ? globalThis : this, function (root) {
  "use strict";

  const PREFIX = "mailbeacon.";

  function local() {
    try {
      return root.localStorage || null;
    } catch (err) {
      return null; // storage blocked (a privacy setting): sign-in then lasts as long as the page
    }
  }

  function officeStore() {
    return root.OfficeRuntime && root.OfficeRuntime.storage ? root.OfficeRuntime.storage : null;
  }

  const memory = new Map();

  async function get(name) {
    const key = PREFIX + name;
    let raw = null;
    const ls = local();
    if (ls) raw = ls.getItem(key);
    if (raw === null && officeStore()) {
      try {
        raw = await officeStore().getItem(key);
      } catch (err) {
        raw = null;
      }
    }
    if (raw === null || raw === undefined) raw = memory.has(key) ? memory.get(key) : null;
    if (raw === null) return null;
    try {
      return JSON.parse(raw);
    } catch (err) {
      return null;
    }
  }

  async function set(name, value) {
    const key = PREFIX + name;
    const raw = JSON.stringify(value);
    memory.set(key, raw);
    const ls = local();
    if (ls) {
      try {
        ls.setItem(key, raw);
      } catch (err) { /* full or blocked: memory and OfficeRuntime still hold it */ }
    }
    if (officeStore()) {
      try {
        await officeStore().setItem(key, raw);
      } catch (err) { /* same */ }
    }
  }

  async function remove(name) {
    const key = PREFIX + name;
    memory.delete(key);
    const ls = local();
    if (ls) ls.removeItem(key);
    if (officeStore()) {
      try {
        await officeStore().removeItem(key);
      } catch (err) { /* nothing to remove */ }
    }
  }

  return { get: get, set: set, remove: remove };
});
