// The demo page: compose and send as either sender, read the delivered mail, and watch what each sender sees.
// All state lives on the demo server; this page polls it once a second and redraws what changed.
"use strict";

const POLL_MS = 1000;
const STATUS_WORDS = { queued: "Queued", sending: "Sending", sent: "Sent", failed: "Failed" };
const SERVICE_WORDS = { gmail: "Gmail", outlook: "Outlook" };
// Each sender's compose window has its own draft (a Gmail draft id, an Outlook item id).
const compose = { drafts: {}, pending: null };
const seenNotifications = {};
const lastFeedJson = {};
let lastInboxJson = "";
let openMessage = null;
let signedBy = null;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function time(iso) {
  if (!iso) return null;
  const when = new Date(iso);
  return el("time", { datetime: iso }, when.toLocaleTimeString());
}

function randomKey() {
  const bytes = new Uint8Array(12);
  crypto.getRandomValues(bytes);
  return "demo-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function setComposeStatus(text, isError) {
  const status = document.getElementById("compose-status");
  status.textContent = text;
  status.classList.toggle("error", Boolean(isError));
}

function sendAs() {
  return document.querySelector("input[name=send_as]:checked");
}

// The sign-off follows the chosen sender while the message still ends with the previous sender's name.
function switchSender(event) {
  const bodyField = document.getElementById("body");
  const name = event.target.dataset.firstName;
  if (signedBy && bodyField.value.endsWith("\n" + signedBy)) {
    bodyField.value = bodyField.value.slice(0, -signedBy.length) + name;
  }
  signedBy = name;
}

async function send(event) {
  event.preventDefault();
  const button = document.getElementById("send");
  const sender = sendAs().value;
  button.disabled = true;
  setComposeStatus("Saving the draft and asking the backend to send it…");
  const body = {
    send_as: sender,
    to: document.getElementById("to").value,
    subject: document.getElementById("subject").value,
    body: document.getElementById("body").value,
    track_opens: document.getElementById("track-opens").checked,
    track_clicks: document.getElementById("track-clicks").checked,
    draft_id: compose.drafts[sender] || null,
    idempotency_key: randomKey(),
  };
  try {
    const response = await fetch("demo/send", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    const answer = await response.json();
    if (!response.ok) {
      compose.drafts[sender] = answer.draft_id || compose.drafts[sender];
      setComposeStatus(answer.error ? answer.error.message : "The send failed.", true);
      return;
    }
    compose.drafts[sender] = answer.draft_id;
    compose.pending = { sender: sender, id: answer.message.id };
    setComposeStatus("Queued: the backend is tracking and sending the " + SERVICE_WORDS[sender] + " draft…");
  } catch (error) {
    setComposeStatus("The demo server did not answer: " + error.message, true);
  } finally {
    button.disabled = false;
  }
}

function followPendingSend(sender, messages) {
  if (!compose.pending || compose.pending.sender !== sender) return;
  const message = messages.find((m) => m.id === compose.pending.id);
  if (!message || (message.status !== "sent" && message.status !== "failed")) return;
  compose.pending = null;
  if (message.status === "sent") {
    compose.drafts[sender] = null; // the draft is gone once sent: the next message is a new draft
    setComposeStatus("Sent. Open it in the recipient's inbox.");
  } else {
    setComposeStatus("Not sent: " + (message.status_detail || "the backend gave no reason"), true);
  }
}

function renderInbox(inbox) {
  const json = JSON.stringify(inbox);
  if (json === lastInboxJson) return;
  lastInboxJson = json;
  document.getElementById("inbox-empty").hidden = inbox.length > 0;
  const list = document.getElementById("inbox");
  list.replaceChildren(...inbox.map((entry) => {
    const current = openMessage && openMessage.id === entry.id && openMessage.service === entry.service;
    return el("li", { class: entry.unread ? "unread" : null },
      el("button", { type: "button", class: "link", "aria-current": current ? "true" : null,
                     onclick: () => openMail(entry) },
        el("span", { class: "subject" }, "Open “" + entry.subject + "”"),
        el("span", { class: "meta" }, "To " + entry.mailbox + " (" + SERVICE_WORDS[entry.service] + ") · from " +
           entry.from + " · " + new Date(entry.received_at).toLocaleTimeString())));
  }));
}

function openMail(entry) {
  openMessage = entry;
  lastInboxJson = ""; // redraw to mark it current
  document.getElementById("reader").hidden = false;
  document.getElementById("reader-heading").textContent = entry.subject + " — from " + entry.from;
  document.getElementById("message-frame").src = "demo/mail/" + encodeURIComponent(entry.service) + "/" +
    encodeURIComponent(entry.mailbox) + "/" + encodeURIComponent(entry.id);
}

function kindBadge(kind) {
  return el("span", { class: "kind " + kind }, kind.replace("_", " "));
}

function renderNotifications(view, notifications) {
  view.querySelector(".notifications-empty").hidden = notifications.length > 0;
  const list = view.querySelector(".notifications");
  const seen = seenNotifications[view.dataset.sender] || (seenNotifications[view.dataset.sender] = new Set());
  // Oldest first into the top of the list, so the newest ends on top; each is announced once.
  for (const note of [...notifications].reverse()) {
    if (seen.has(note.id)) continue;
    seen.add(note.id);
    const who = (note.recipients || []).join(", ") || "The recipient";
    const what = note.event === "click"
      ? who + " clicked " + (note.link || "a link") + " in “" + note.subject + "”"
      : who + " opened “" + note.subject + "”";
    list.prepend(el("li", {}, time(note.at || note.created_at), " ", what, " ", kindBadge(note.kind || "human")));
  }
}

function countLine(count, machineCount) {
  const people = count === 1 ? "1 by a person" : count + " by people";
  const machines = machineCount === 1 ? "1 by a machine" : machineCount + " by machines";
  return people + ", " + machines;
}

// `message` is the API's GET /api/v1/messages/{id}, timeline included, exactly as the extension receives it.
function renderMessage(message) {
  const tracking = message.tracking.skipped_reason
    ? "not tracked: " + message.tracking.skipped_reason
    : [message.tracking.opens ? "opens" : null, message.tracking.clicks ? "clicks" : null]
        .filter(Boolean).join(" and ") || "nothing";
  const status = STATUS_WORDS[message.status] || message.status;
  const hits = message.timeline.map((hit) => el("li", {},
    time(hit.at), " ",
    hit.type === "click" ? "Click on " + (hit.url || "a link") + " " : "Open ",
    kindBadge(hit.kind),
    el("span", { class: "reason" }, hit.reason),
    hit.counted ? null : el("span", { class: "repeat" }, "not counted again")));
  return el("article", { class: "message", "data-message-id": message.id },
    el("h5", {}, message.subject || "(no subject)"),
    el("p", { class: "to" }, "To " + message.recipients.join(", ")),
    el("dl", {},
      el("dt", {}, "Status"),
      el("dd", {}, el("span", { class: "state " + message.status }, status),
         message.status === "failed" && message.status_detail ? " — " + message.status_detail : null),
      el("dt", {}, "Tracking"), el("dd", {}, tracking),
      el("dt", {}, "Opens"), el("dd", { "data-opens": "" }, countLine(message.opens.count, message.opens.machine_count)),
      el("dt", {}, "Clicks"),
      el("dd", { "data-clicks": "" }, countLine(message.clicks.count, message.clicks.machine_count))),
    message.status === "sent" && message.wording ? el("p", { class: "wording" }, message.wording) : null,
    hits.length ? el("ol", { class: "timeline", "aria-label": "Opens and clicks" }, hits)
                : el("p", { class: "empty" }, "No opens or clicks yet."));
}

// One sender's view: what their own client reads with their own token.
function renderFeed(sender, feed) {
  const view = document.getElementById("sender-" + sender);
  if (!view) return;
  view.querySelector(".feed-error").textContent = feed.error ? "Not refreshed: " + feed.error : "";
  renderNotifications(view, feed.notifications);
  followPendingSend(sender, feed.messages);
  const json = JSON.stringify(feed.messages);
  if (json === lastFeedJson[sender]) return;
  lastFeedJson[sender] = json;
  view.querySelector(".messages-empty").hidden = feed.messages.length > 0;
  view.querySelector(".messages").replaceChildren(...feed.messages.map(renderMessage));
}

async function poll() {
  try {
    const response = await fetch("demo/state", { cache: "no-store" });
    if (response.ok) {
      const state = await response.json();
      renderInbox(state.inbox);
      for (const [sender, feed] of Object.entries(state.senders)) renderFeed(sender, feed);
    }
  } catch (error) {
    // The demo was stopped or is restarting: keep trying quietly.
  } finally {
    setTimeout(poll, POLL_MS);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("compose-form").addEventListener("submit", send);
  for (const choice of document.querySelectorAll("input[name=send_as]")) {
    choice.addEventListener("change", switchSender);
  }
  signedBy = sendAs().dataset.firstName;
  poll();
});
