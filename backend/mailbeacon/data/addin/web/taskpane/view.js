/* mailbeacon task pane: the few DOM helpers every part of the pane uses.
 *
 * Text only ever goes in through textContent: nothing from the backend or the message is parsed as HTML.
 */
(function (root) {
  "use strict";
  const doc = root.document;

  function el(id) {
    return doc.getElementById(id);
  }

  function show(id, visible) {
    el(id).hidden = !visible;
  }

  /** Show one of the three sections (signin, compose, read) and hide the others. */
  function section(name) {
    doc.body.removeAttribute("data-ready");
    ["signin", "compose", "read"].forEach(function (id) { show(id, id === name); });
  }

  function text(id, value) {
    el(id).textContent = value || "";
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  /** A new element with a class and text: `make("li", "kind", "by a person")`. */
  function make(tag, className, content) {
    const node = doc.createElement(tag);
    if (className) node.className = className;
    if (content !== undefined) node.textContent = content;
    return node;
  }

  /** Fill every [data-i18n] element with its string, and mark the document's language. */
  function translate(s) {
    doc.documentElement.lang = s.language;
    doc.querySelectorAll("[data-i18n]").forEach(function (node) {
      node.textContent = s.t(node.getAttribute("data-i18n"));
    });
  }

  /** Mark the pane as showing `name` and done drawing it (what a person, or a test, can act on). */
  function ready(name) {
    doc.body.setAttribute("data-ready", name);
  }

  function notice(message) {
    text("notice", message);
    show("notice", Boolean(message));
  }

  root.mailbeacon.view = { el: el, show: show, section: section, text: text, clear: clear, make: make,
    translate: translate, notice: notice, ready: ready };
})(globalThis);
