/* mailbeacon add-in: did Outlook take the tracked body as it was given? (the prepare path's safety check)
 *
 * Pure. Outlook's body.setAsync inside a send handler has been seen to drop quoted inline images and to truncate
 * long bodies, and Outlook rewrites HTML as it pleases, so the body read back is never compared byte for byte.
 * It must instead keep what matters: the same visible text as the tracked body, every inline image (cid:) the
 * user's body referenced, every tracking URL we added, and the same attachments. `problem(...)` names the first
 * thing that was lost, or returns null when nothing was.
 */
(function (root, factory) {
  "use strict";
  const mod = factory(root);
  (root.mailbeacon = root.mailbeacon || {}).bodyCheck = mod;
  if (typeof module === "object" && module.exports) module.exports = mod;
})(typeof globalThis !== "undefined" ? globalThis : this, function (root) {
  "use strict";

  const CID = /\bcid:([^"'\s>)]+)/gi;

  function text() {
    return root.mailbeacon.text;
  }

  /** The inline images a body refers to (cid: references), lower-cased and without duplicates. */
  function inlineImages(content) {
    const found = new Set();
    String(content).replace(CID, function (whole, id) {
      found.add(id.toLowerCase());
      return whole;
    });
    return Array.from(found).sort();
  }

  function escapeForRegExp(value) {
    return value.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  }

  /** Our own pixel and click URLs in a tracked body (`base` is the public URL they start with). */
  function trackingUrls(content, base) {
    const pattern = new RegExp(escapeForRegExp(String(base).replace(/\/+$/, "")) + "/[oc]/[^\"'\\s<>&]+", "g");
    return Array.from(new Set(String(content).match(pattern) || [])).sort();
  }

  function attachmentKey(attachment) {
    return [attachment.id, attachment.name, attachment.size].join("\u0000");
  }

  function sameAttachments(before, after) {
    if (!Array.isArray(before) || !Array.isArray(after)) return true; // unknowable here: the other checks stand
    const a = before.map(attachmentKey).sort();
    const b = after.map(attachmentKey).sort();
    return a.length === b.length && a.every(function (key, i) { return key === b[i]; });
  }

  /**
   * What Outlook lost between the body we set and the body it holds now, as a "problem.*" string key, or null.
   *   original: the user's body before we touched it; expected: what we set; actual: what Outlook returned.
   *   base: the public URL of our tracking links; attachmentsBefore/After: getAttachmentsAsync results (optional).
   */
  function problem(options) {
    const type = options.contentType;
    const actual = String(options.actual);
    const missingImage = inlineImages(options.original).some(function (id) {
      return inlineImages(actual).indexOf(id) < 0;
    });
    if (missingImage) return "problem.inlineImage";
    if (!sameAttachments(options.attachmentsBefore, options.attachmentsAfter)) return "problem.attachment";
    const wanted = text().squeezedText(options.expected, type);
    const got = text().squeezedText(actual, type);
    if (wanted !== null && got !== null ? wanted !== got : String(options.expected).length > actual.length) {
      return "problem.text";
    }
    if (options.base) {
      const lost = trackingUrls(options.expected, options.base).some(function (url) { return actual.indexOf(url) < 0; });
      if (lost) return "problem.tracking";
    }
    return null;
  }

  return { problem: problem, inlineImages: inlineImages, trackingUrls: trackingUrls };
});
