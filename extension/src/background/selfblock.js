/** Keeps the declarativeNetRequest rules that hide our pixel from the sender's own browser in step with the backend. */

import { ownRuleIds, selfBlockRules } from '../lib/self-block-rules.js';

export async function applySelfBlock(bases) {
  const installed = await chrome.declarativeNetRequest.getDynamicRules();
  await chrome.declarativeNetRequest.updateDynamicRules({
    removeRuleIds: ownRuleIds(installed),
    addRules: selfBlockRules(bases),
  });
}

/** The bases pixels are served from: the backend itself, plus the tracking base it announces (if it does). */
export function trackingBases(backendUrl, profile) {
  const bases = [backendUrl];
  if (profile?.tracking_base_url) bases.push(profile.tracking_base_url);
  return bases;
}
