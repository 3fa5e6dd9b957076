/**
 * declarativeNetRequest rules that stop the sender's own browser from loading our tracking pixel, so that the
 * sender reading their own Sent folder never counts as the recipient opening it (the commonest complaint about
 * trackers). Two ways the pixel reaches the sender's browser:
 *
 *   direct:        <base>/o/<token>
 *   Gmail's proxy: https://ciN.googleusercontent.com/meips/<opaque>=s0-d-e1-ft#<base>/o/<token>
 *
 * Gmail rewrites every image in a message to its proxy and keeps the original URL after `#`. The fragment never
 * reaches a server, but declarativeNetRequest matches the whole URL including it (checked in Chromium 156), so a
 * regex over the fragment blocks the proxy request before Google's proxy would fetch our pixel.
 *
 * Click links (/c/) are not blocked: the sender testing their own link should still land on the page; the
 * backend tells that click apart by the "viewing" signal and the sender's address.
 */

export const SELF_BLOCK_FIRST_ID = 1000;
const IMAGE_LIKE = ['image', 'media', 'object', 'other', 'sub_frame', 'xmlhttprequest'];

/** A string escaped for RE2 (the regex engine declarativeNetRequest uses). */
export function escapeRegex(text) {
  return String(text).replace(/[\\^$.|?*+()[\]{}]/g, '\\$&');
}

/** The rules for every tracking base (the backend URL and, when it differs, the pixel base it announces). */
export function selfBlockRules(bases, firstId = SELF_BLOCK_FIRST_ID) {
  const unique = [...new Set(bases.filter(Boolean).map((b) => String(b).replace(/\/+$/, '')))];
  const rules = [];
  let id = firstId;
  for (const base of unique) {
    const pixel = `${escapeRegex(base)}/o/[^/?#]+`;
    rules.push({
      id: id++,
      priority: 1,
      action: { type: 'block' },
      condition: { regexFilter: `^${pixel}`, resourceTypes: IMAGE_LIKE, isUrlFilterCaseSensitive: false },
    });
    rules.push({
      id: id++,
      priority: 1,
      action: { type: 'block' },
      condition: {
        regexFilter: `^https://[a-z0-9.-]+\\.googleusercontent\\.com/[^#]*#${pixel}`,
        resourceTypes: IMAGE_LIKE,
        isUrlFilterCaseSensitive: false,
      },
    });
  }
  return rules;
}

/** Ids of our earlier rules among the installed ones, to remove before adding the new set. */
export function ownRuleIds(installed, firstId = SELF_BLOCK_FIRST_ID) {
  return installed.map((rule) => rule.id).filter((id) => id >= firstId && id < firstId + 1000);
}
