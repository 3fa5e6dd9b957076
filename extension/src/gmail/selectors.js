/**
 * Every Gmail selector the extension uses, and nothing else. Gmail's class names are obfuscated and change over
 * the years; when one stops matching, this is the only file to edit.
 *
 * Each entry lists alternatives, best first. Sources: the real compose dialog captured in 2020
 * (tests/extension/fixtures/gmail-dom/js-min-gmail-compose-dialog.fragment.html), the attributes of the 2018
 * redesign that thread rows and headers carry (data-thread-id / data-legacy-thread-id), and the selectors other
 * Gmail extensions have relied on for years (InboxSDK) for parts no capture shows (inline reply, recipient chips).
 */

export const SELECTORS = {
  // A compose window of any kind: the new-message dialog, a pop-out, an inline reply or forward. All of them wrap
  // Gmail's compose form in `.M9`; the form itself is the fallback anchor.
  composeRoot: ['div.M9', 'div[role="dialog"] form.bAs'],
  composeForm: ['form.bAs', 'form[enctype="multipart/form-data"]'],
  draftInput: ['input[name="draft"]'],
  composeIdInput: ['input[name="composeid"]'],
  // The Send button, not "More send options" (aria-haspopup) nor "Send and archive" (.Uo).
  sendButton: [
    'div.T-I.aoO[role="button"]',
    '.IZ .Up div > div[role="button"]:not(.Uo):not([aria-haspopup="true"])',
  ],
  // Replies can have "Send and archive" next to Send; taken over too (sent tracked, not archived).
  sendAndArchiveButton: ['.IZ .Up div > div[role="button"].Uo:not([aria-haspopup="true"])'],
  sendCell: ['td.gU.Up'],
  body: [
    'div.Am[contenteditable="true"][g_editable="true"]',
    '.Ap [g_editable="true"]',
    'div[contenteditable="true"][role="textbox"][aria-label]',
  ],
  subject: ['input[name="subjectbox"]'],
  hiddenSubject: ['input[type="hidden"][name="subject"]'],
  // The title bar (minimise, pop-out, close) belongs to the dialog around .M9, not to .M9 itself.
  composeDialog: ['div[role="dialog"]'],
  closeButton: ['.Hm img.Ha', '.Hm .Ha', 'img.Ha'],
  // Gmail collapses the quoted history of a reply behind "Show trimmed content"; it is not in the editor's text.
  trimmedContent: ['.ajR', '[aria-label="Show trimmed content"]'],
  inlineReplyContainer: ['div.ip.adB', 'div.ip'],

  // Recipients. Chips since the 2021 redesign carry the address in data-hovercard-id; older chips kept a hidden
  // input per address in a `.vR` element; text not yet turned into a chip is still in the field.
  recipientChips: (field) => [
    `.anm[name="${field}"] [role="option"][data-hovercard-id]`,
    `[name="${field}"] [role="option"][data-hovercard-id]`,
  ],
  recipientLegacyRow: (field) => [`textarea[name="${field}"]`, `input[name="${field}"][role="combobox"]`],
  recipientLegacyChips: ['.vR > input[type="hidden"]', '.vR [email]'],
  recipientTyped: (field) => [
    `textarea[name="${field}"]`,
    `.anm[name="${field}"] input:not([type="hidden"])`,
    `input[name="${field}"][role="combobox"]`,
  ],

  // Lists (Inbox, Sent, search results): one `tr.zA` per thread; the thread ids sit on a span inside it.
  threadRow: ['tr.zA'],
  rowThreadIds: ['[data-legacy-thread-id]', '[data-thread-id]'],
  rowIconSlot: ['td.xW', 'td.xY:last-child'],

  // An open conversation: the subject header carries the thread's ids.
  mainArea: ['div[role="main"]'],
  threadSubject: ['h2.hP[data-legacy-thread-id]', 'h2.hP[data-thread-perm-id]', 'h2.hP'],
  threadHeader: ['div.ha', 'h2.hP'],

  // The left navigation, where the "Tracked" entry goes.
  navigation: ['div[role="navigation"]'],
  navList: ['div.TK', 'div[role="navigation"] [role="list"]'],
};

/** Attributes read off Gmail elements (kept here too: they are as much Gmail's DOM as the classes). */
export const ATTRIBUTES = {
  legacyThreadId: 'data-legacy-thread-id',
  threadPermId: 'data-thread-id',
  headerPermId: 'data-thread-perm-id',
  hovercardId: 'data-hovercard-id',
  legacyEmail: 'email',
};
