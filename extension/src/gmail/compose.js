/**
 * One Gmail compose window (new message, reply, forward, inline reply, pop-out): reading what the user sees,
 * nudging Gmail to save the draft, locking it while we send, closing it afterwards. Only this file and
 * selectors.js know how a compose window is built.
 */

import { uniqueAddresses } from '../lib/addresses.js';
import { draftIdFromInput } from '../lib/draft-id.js';
import { randomToken } from '../lib/pkce.js';
import { textDigest } from '../lib/text-digest.js';
import { closest, find, findAll, simulateClick } from './dom.js';

const instances = new WeakMap();
const unusable = new WeakSet();
const FIELDS = ['to', 'cc', 'bcc'];

export class ComposeUnreadable extends Error {
  constructor(code) {
    super(code);
    this.code = code;
  }
}

export class ComposeWindow {
  /** Every compose window on the page that has what we need (a Send button, a body and the draft input). */
  static scan(documentRoot = document) {
    const found = [];
    for (const root of findAll(documentRoot, 'composeRoot')) {
      const existing = instances.get(root);
      if (existing) {
        found.push(existing);
        continue;
      }
      if (unusable.has(root) || !find(root, 'sendButton', { quiet: true })) continue;
      const compose = new ComposeWindow(root);
      if (!compose.isUsable()) {
        unusable.add(root); // a compose window Gmail built differently: left entirely to Gmail
        continue;
      }
      instances.set(root, compose);
      found.push(compose);
    }
    return found;
  }

  /** The compose window an event target belongs to, if we manage it. */
  static around(target) {
    const root = target instanceof Element ? closest(target, 'composeRoot') : null;
    return root ? instances.get(root) ?? null : null;
  }

  constructor(root) {
    this.root = root;
    this.session = randomToken(12); // names this compose window in idempotency keys
    this.attempt = 0;
    this.choice = { opens: false, clicks: false };
    this.sending = false;
    this.bypass = false; // true while "send without tracking" hands the click to Gmail
  }

  /** A Send button without a body or a draft input means Gmail changed: logged once, and nothing is added. */
  isUsable() {
    return Boolean(this.sendButton() && find(this.root, 'body') && find(this.root, 'draftInput'));
  }

  sendButton() {
    return find(this.root, 'sendButton', { quiet: true });
  }

  isSendTarget(target) {
    if (!(target instanceof Node)) return false;
    const buttons = [this.sendButton(), find(this.root, 'sendAndArchiveButton', { quiet: true })];
    return buttons.some((button) => button?.contains(target));
  }

  wantsTracking() {
    return this.choice.opens || this.choice.clicks;
  }

  isInlineReply() {
    return Boolean(closest(this.root, 'inlineReplyContainer'));
  }

  draftId() {
    return draftIdFromInput(find(this.root, 'draftInput')?.value);
  }

  recipients(field) {
    const values = [];
    for (const chip of findAll(this.root, 'recipientChips', { arg: field })) {
      values.push(chip.getAttribute('data-hovercard-id'));
    }
    const legacyField = find(this.root, 'recipientLegacyRow', { arg: field, quiet: true });
    const row = legacyField?.closest('tr');
    if (row) {
      for (const chip of findAll(row, 'recipientLegacyChips')) values.push(chip.value || chip.getAttribute('email'));
    }
    for (const typed of findAll(this.root, 'recipientTyped', { arg: field })) values.push(typed.value);
    return uniqueAddresses(values.filter(Boolean));
  }

  subject() {
    const box = find(this.root, 'subject', { quiet: true });
    if (box?.value) return box.value;
    return find(this.root, 'hiddenSubject', { quiet: true })?.value ?? '';
  }

  bodyElement() {
    return find(this.root, 'body');
  }

  /** The body's text as the backend will see it in the saved draft: styles and scripts don't count. */
  bodyText() {
    const body = this.bodyElement();
    if (!body) throw new ComposeUnreadable('compose_unreadable');
    const copy = body.cloneNode(true);
    copy.querySelectorAll('style, script').forEach((node) => node.remove());
    return copy.textContent ?? '';
  }

  /**
   * What the user sees, for the backend to compare with Gmail's saved copy. The text digest is left out when
   * Gmail hides the quoted history of a reply ("Show trimmed content"): Gmail's copy holds text the screen doesn't,
   * and recipients and subject still guard against sending the wrong draft.
   */
  async seen() {
    const seen = Object.fromEntries(FIELDS.map((field) => [field, this.recipients(field)]));
    seen.subject = this.subject();
    // Every compose window has the "trimmed content" button; it is only shown when there is something trimmed.
    const trimmed = find(this.root, 'trimmedContent', { quiet: true });
    if (!trimmed || trimmed.getClientRects().length === 0) seen.text_sha256 = await textDigest(this.bodyText());
    return seen;
  }

  nextIdempotencyKey() {
    this.attempt += 1;
    return `compose-${this.session}-send-${this.attempt}`;
  }

  /** What Gmail does on a keystroke: mark the draft changed, so its autosave runs (the way InboxSDK nudges it). */
  nudgeSave() {
    const body = this.bodyElement();
    if (!body) return;
    for (const type of ['keydown', 'keypress', 'keyup']) {
      body.dispatchEvent(new KeyboardEvent(type, { bubbles: true, cancelable: true, keyCode: 190, which: 190 }));
    }
  }

  /**
   * The draft id once Gmail has saved the draft at least once. A compose with an id is not nudged again: a save
   * we provoked could land after the backend has sent the draft and bring it back.
   */
  async waitForDraftId({ timeoutMs = 15000, pollMs = 100 } = {}) {
    let id = this.draftId();
    if (id) return id;
    this.nudgeSave();
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, pollMs));
      id = this.draftId();
      if (id) return id;
    }
    throw new ComposeUnreadable('draft_not_saved');
  }

  /** No edits while the backend sends what it was shown. */
  lock() {
    this.root.setAttribute('data-mb-sending', '');
    const body = this.bodyElement();
    if (body) {
      this.savedEditable = body.getAttribute('contenteditable');
      body.setAttribute('contenteditable', 'false');
    }
    const subject = find(this.root, 'subject', { quiet: true });
    if (subject) subject.readOnly = true;
  }

  unlock() {
    this.root.removeAttribute('data-mb-sending');
    const body = this.bodyElement();
    if (body && this.savedEditable != null) body.setAttribute('contenteditable', this.savedEditable);
    const subject = find(this.root, 'subject', { quiet: true });
    if (subject) subject.readOnly = false;
  }

  /**
   * After the backend sent it: close without Gmail saving again (nothing changed since its last save, so its
   * close button just closes). An inline reply has no close button; it is hidden instead.
   */
  closeAfterSend() {
    this.root.setAttribute('data-mb-sent', '');
    if (this.isInlineReply()) {
      this.root.style.display = 'none';
      return;
    }
    const frame = closest(this.root, 'composeDialog') ?? this.root;
    const close = find(frame, 'closeButton');
    if (close) simulateClick(close);
    else this.root.style.display = 'none';
  }

  /** Let Gmail send this one itself, untracked: our interception steps aside for this click only. */
  sendNatively() {
    const button = this.sendButton();
    if (!button) return false;
    this.unlock();
    this.bypass = true;
    try {
      simulateClick(button);
    } finally {
      this.bypass = false;
    }
    return true;
  }
}
