/**
 * "The sender is looking at this thread now": sent to the backend the moment a conversation is being opened —
 * on the mousedown or Enter on its row, before Gmail has even asked for the message, let alone rendered its body
 * and pixel — so a hit in the next seconds is known to be the sender's own. A hex thread id in the address and,
 * late but better than never, the conversation header appearing also send it. The declarativeNetRequest rule is
 * the first defence (the pixel isn't loaded at all); this is the second, for whatever slips past it.
 *
 * Sent when a conversation is opened, never while it merely stays open: the backend counts hits for two minutes
 * after the signal as the sender's, and a conversation left open for an hour must not hide the recipient's opens.
 */

import { closest, onDomChange } from '../gmail/dom.js';
import { threadIdFromHash } from '../lib/draft-id.js';
import { threadIdOfRow } from './sent-list-icons.js';
import { openThread } from './thread-bar.js';

const AGAIN_AFTER_MS = 10_000;

export function start(ctx) {
  const sentAt = new Map();

  const signal = (threadId) => {
    if (!threadId || !ctx.state.signedIn || ctx.rows.knownUntracked(threadId)) return;
    const last = sentAt.get(threadId) ?? 0;
    if (Date.now() - last < AGAIN_AFTER_MS) return;
    sentAt.set(threadId, Date.now());
    ctx.ask('viewing', { threadId }).catch(() => sentAt.delete(threadId));
  };

  const fromRow = (event) => {
    if (event.type === 'keydown' && event.key !== 'Enter' && event.key !== 'o') return;
    const row = closest(event.target, 'threadRow')
      ?? (event.type === 'keydown' ? closest(document.activeElement, 'threadRow') : null);
    if (row) signal(threadIdOfRow(row));
  };
  const fromHash = () => signal(threadIdFromHash(location.hash));

  window.addEventListener('mousedown', fromRow, true);
  window.addEventListener('keydown', fromRow, true);
  window.addEventListener('hashchange', fromHash);
  let showing = null;
  const stopObserving = onDomChange(() => {
    const threadId = openThread()?.threadId ?? null;
    if (threadId !== showing && threadId) signal(threadId);
    showing = threadId;
  });
  fromHash();
  return () => {
    window.removeEventListener('mousedown', fromRow, true);
    window.removeEventListener('keydown', fromRow, true);
    window.removeEventListener('hashchange', fromHash);
    stopObserving();
  };
}
