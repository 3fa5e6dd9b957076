/**
 * Taking over Send when a tracking toggle is on: the button (click, and the mousedown/mouseup Gmail's buttons
 * act on), Enter or Space on it, Ctrl/Cmd+Enter anywhere in the compose window — all caught in the capture phase
 * at the window, before Gmail sees them. Then: make sure Gmail has saved the draft, read the draft id and what the
 * screen shows, ask the backend to send it, say that it is sending, and close the compose window once it is sent.
 *
 * With both toggles off nothing is intercepted. When something fails before the backend took the message, the
 * user is told why and offered "Send without tracking" (Gmail's own send) — the message is never lost: the
 * compose window stays open, and a draft the backend touched is put back as the user wrote it.
 */

import { ComposeUnreadable, ComposeWindow } from '../gmail/compose.js';
import { el } from '../gmail/dom.js';
import { describeError } from '../lib/errors.js';
import { t, toast } from '../content/ui.js';

const POLL_MS = 1000;
const CONFIRM_WITHIN_MS = 45_000; // then the compose closes and the worker reports the outcome

function stop(event) {
  event.preventDefault();
  event.stopPropagation();
  event.stopImmediatePropagation();
}

function statusArea(compose) {
  return compose.root.querySelector('.mb-send-status');
}

function setStatus(compose, text) {
  const area = statusArea(compose);
  if (area) area.textContent = text;
}

function clearFailure(compose) {
  compose.root.querySelector('.mb-send-failure')?.remove();
}

/** Says why, and offers the ways on; sits just above the compose window's bottom bar. */
function showFailure(compose, error, { canSendUntracked, retry }) {
  clearFailure(compose);
  const { key, detail } = describeError(error);
  const untracked = el('button', { type: 'button', class: 'mb-button mb-primary', text: t('sendWithoutTracking') });
  const again = el('button', { type: 'button', class: 'mb-button', text: t('tryAgain') });
  const dismiss = el('button', { type: 'button', class: 'mb-button mb-quiet', text: t('dismiss') });
  const box = el('div', { class: 'mb-send-failure', role: 'alert' }, [
    el('p', { class: 'mb-failure-title', text: t(key) }),
    detail && key === 'errorGeneric' ? el('p', { class: 'mb-failure-detail', text: detail }) : null,
    el('div', { class: 'mb-failure-actions' }, [canSendUntracked ? untracked : null, again, dismiss]),
  ]);
  untracked.addEventListener('click', () => {
    clearFailure(compose);
    setStatus(compose, '');
    compose.sendNatively();
  });
  again.addEventListener('click', () => {
    clearFailure(compose);
    retry();
  });
  dismiss.addEventListener('click', () => {
    clearFailure(compose);
    setStatus(compose, '');
  });
  const anchor = compose.root.querySelector('.mb-toggles')?.closest('table') ?? compose.sendButton();
  (anchor?.parentElement ?? compose.root).insertBefore(box, anchor ?? null);
  untracked.focus?.();
}

async function waitForOutcome(ctx, compose, messageId) {
  const deadline = Date.now() + CONFIRM_WITHIN_MS;
  let outcome = null;
  const onEvent = (event) => {
    if (event.detail?.message_id === messageId) outcome = event.detail.event;
  };
  ctx.events.addEventListener('message-event', onEvent);
  try {
    while (Date.now() < deadline) {
      try {
        const status = await ctx.ask('messageStatus', { id: messageId });
        if (status.status === 'sent' || status.status === 'failed') return status;
      } catch (error) {
        if (error.status === 401 || error.code === 'extension_reloaded') throw error;
        // Otherwise the message is queued on the backend; keep asking.
      }
      if (outcome) {
        outcome = null; // the stream said it's done: ask once more at once, then poll as usual
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }
    return { status: 'pending' };
  } finally {
    ctx.events.removeEventListener('message-event', onEvent);
  }
}

async function sendTracked(ctx, compose) {
  if (compose.sending) return;
  compose.sending = true;
  clearFailure(compose);
  setStatus(compose, t('sendingTracked'));
  compose.lock();
  let accepted = false;
  let key = compose.pendingKey;
  try {
    const draftId = await compose.waitForDraftId();
    const seen = await compose.seen();
    // One key per compose and send: a retry after a lost answer reuses it (and can never send twice); a new
    // attempt after a definite failure gets a new one.
    key = key ?? compose.nextIdempotencyKey();
    compose.pendingKey = key;
    const message = await ctx.ask('sendTracked', {
      draftId, trackOpens: compose.choice.opens, trackClicks: compose.choice.clicks, seen, idempotencyKey: key,
    });
    accepted = true;
    const final = message.status === 'sent' || message.status === 'failed'
      ? message : await waitForOutcome(ctx, compose, message.id);
    if (final.status === 'sent') {
      compose.pendingKey = null;
      compose.closeAfterSend();
      toast(t('sentTracked'));
      ctx.events.dispatchEvent(new CustomEvent('tracked-sent', { detail: final }));
      return;
    }
    if (final.status === 'pending') {
      // Gmail is slow or rate-limiting: the backend keeps trying for minutes and the draft is safe in Drafts.
      // Holding the window locked that long helps no one; the worker alerts if it finally fails.
      compose.pendingKey = null;
      compose.closeAfterSend();
      toast(t('stillSending'), { ms: 10_000 });
      return;
    }
    compose.pendingKey = null; // failed for good: the next try is a new send
    throw Object.assign(new Error(final.status_detail ?? 'failed'), { status_detail: final.status_detail });
  } catch (error) {
    compose.unlock();
    setStatus(compose, '');
    const definite = accepted || error instanceof ComposeUnreadable || (error.status ?? 0) >= 400;
    if (definite) compose.pendingKey = null;
    showFailure(compose, error, {
      canSendUntracked: true,
      retry: () => sendTracked(ctx, compose),
    });
    if (error.status === 401) ctx.refreshState();
  } finally {
    compose.sending = false;
  }
}

function isEnter(event) {
  return event.key === 'Enter' || event.keyCode === 13;
}

function isSpace(event) {
  return event.key === ' ' || event.key === 'Spacebar' || event.keyCode === 32;
}

export function start(ctx) {
  const takingOver = (event) => {
    if (!ctx.state.signedIn) return null;
    const compose = ComposeWindow.around(event.target);
    if (!compose || compose.bypass || !compose.wantsTracking()) return null;
    return compose;
  };

  const onPointer = (event) => {
    const compose = takingOver(event);
    if (!compose || !compose.isSendTarget(event.target)) return;
    stop(event);
    if (event.type === 'click') sendTracked(ctx, compose);
  };

  const onKey = (event) => {
    const compose = takingOver(event);
    if (!compose) return;
    const onButton = compose.isSendTarget(event.target);
    const shortcut = event.type === 'keydown' && isEnter(event) && (event.ctrlKey || event.metaKey);
    const activation = onButton && (isEnter(event) || isSpace(event));
    if (!shortcut && !activation) return;
    stop(event);
    if (event.type === 'keydown' && !event.repeat) sendTracked(ctx, compose);
  };

  const pointerTypes = ['mousedown', 'mouseup', 'click', 'pointerdown', 'pointerup'];
  for (const type of pointerTypes) window.addEventListener(type, onPointer, true);
  window.addEventListener('keydown', onKey, true);
  window.addEventListener('keyup', onKey, true);
  return () => {
    for (const type of pointerTypes) window.removeEventListener(type, onPointer, true);
    window.removeEventListener('keydown', onKey, true);
    window.removeEventListener('keyup', onKey, true);
  };
}
