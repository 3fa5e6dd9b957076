/* mailbeacon task pane, read mode: a sent message's opens and clicks, live while the pane is open.
 *
 * Which tracked message this item is: the X-Mailbeacon-Id header that the prepare path puts on every message it
 * tracks, else the conversation (Graph path: the backend records the conversation id when it sends), choosing
 * the message sent closest to this item's time when a conversation holds several of ours.
 *
 * Showing it tells the backend the sender is looking at it now (the next seconds of hits are theirs, not the
 * recipient's: Outlook loads the pixel when it shows the sender their own message). New opens and clicks arrive
 * on the event stream; each one refreshes the view and appears in the item's notification bar.
 */
(function (root) {
  "use strict";

  const HEADER = "X-Mailbeacon-Id";
  const NOTIFICATION_KEY = "mailbeacon-activity";
  const MAX_CANDIDATES = 5;
  const RECONNECT_MS = [1000, 2000, 5000, 10000, 30000];

  let live = null;

  function mb() {
    return root.mailbeacon;
  }

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  function stop() {
    if (live) live.abort();
    live = null;
  }

  async function fromHeader() {
    const raw = await mb().office.allHeaders().catch(function () { return null; });
    const value = mb().text.headerValue(raw, HEADER);
    return value && /^[A-Za-z0-9_-]{6,64}$/.test(value) ? value : null;
  }

  async function fromConversation(app, item) {
    const conversation = item.conversationId;
    if (!conversation) return null;
    const rows = await app.api.rowStatus([conversation]);
    const row = rows && rows.rows && rows.rows[conversation];
    const ids = (row && row.messages) || [];
    if (ids.length <= 1) return ids[0] || null;
    const created = Date.parse(item.dateTimeCreated || "") || Date.now();
    const details = await Promise.all(ids.slice(-MAX_CANDIDATES).map(function (id) {
      return app.api.message(id).catch(function () { return null; });
    }));
    let best = null;
    details.forEach(function (detail) {
      if (!detail || !detail.sent_at) return;
      const distance = Math.abs(Date.parse(detail.sent_at) - created);
      if (!best || distance < best.distance) best = { id: detail.id, distance: distance };
    });
    return best ? best.id : ids[ids.length - 1];
  }

  function kindText(s, kind) {
    try {
      return s.t("kind." + kind);
    } catch (err) {
      return s.t("kind.unknown");
    }
  }

  function statusText(s, detail) {
    const status = detail.status;
    if (status === "sent") return s.t("read.status.sent", { time: s.time(detail.sent_at) });
    if (status === "failed") return s.t("read.status.failed", { reason: String(detail.status_detail || "").replace(/^[a-z_]+: /, "") });
    if (["queued", "sending", "prepared", "abandoned"].indexOf(status) >= 0) return s.t("read.status." + status);
    return "";
  }

  function render(app, detail) {
    const view = mb().view;
    const s = app.s;
    view.show("read-loading", false);
    view.show("read-detail", true);
    const tracked = detail.tracking || { opens: true, clicks: true };
    const badge = view.el("read-badge");
    const parts = [];
    if (tracked.opens) parts.push(s.t(detail.opened ? "read.opened" : "read.notOpened"));
    if (detail.clicked || (!tracked.opens && tracked.clicks)) parts.push(s.t(detail.clicked ? "read.clicked" : "read.notClicked"));
    badge.textContent = parts.join(" · ");
    badge.className = "badge " + (detail.opened || detail.clicked ? "opened" : "waiting");
    view.text("read-status", statusText(s, detail));

    const counts = view.el("read-counts");
    view.clear(counts);
    if (tracked.opens) {
      const opens = view.make("li", "", s.t("read.opens", { count: detail.opens.count }));
      if (detail.opens.machine_count) opens.appendChild(view.make("span", "muted", " (" + s.t("read.machine", { count: detail.opens.machine_count }) + ")"));
      counts.appendChild(opens);
    } else {
      counts.appendChild(view.make("li", "muted", s.t("read.opensNotTracked")));
    }
    counts.appendChild(tracked.clicks ? view.make("li", "", s.t("read.clicks", { count: detail.clicks.count }))
      : view.make("li", "muted", s.t("read.clicksNotTracked")));
    if (detail.opens.first_at) counts.appendChild(view.make("li", "muted", s.t("read.firstOpened", { time: s.time(detail.opens.first_at) })));
    if (detail.opens.last_at && detail.opens.count > 1) counts.appendChild(view.make("li", "muted", s.t("read.lastOpened", { time: s.time(detail.opens.last_at) })));

    const recipients = (detail.recipients || []).length;
    view.text("read-wording", detail.shared_pixel ? s.t("read.shared", { count: recipients }) : s.t("read.honest"));

    const timeline = view.el("timeline");
    view.clear(timeline);
    const hits = (detail.timeline || []).slice().reverse(); // newest first: what changed is on top
    if (!hits.length) timeline.appendChild(view.make("li", "muted", s.t("read.timelineEmpty")));
    hits.forEach(function (hit) {
      const entry = view.make("li", hit.machine || hit.self ? "hit machine" : "hit " + hit.kind);
      entry.appendChild(view.make("time", "", s.time(hit.at)));
      const what = hit.type === "click" ? s.t("read.hit.click", { url: hit.url || "" }) : s.t("read.hit.open");
      entry.appendChild(view.make("span", "what", what + " " + kindText(s, hit.kind)));
      if (hit.client || hit.device_class) {
        entry.appendChild(view.make("span", "muted", [hit.client, hit.device_class].filter(Boolean).join(" · ")));
      }
      timeline.appendChild(entry);
    });

    const links = view.el("links");
    view.clear(links);
    if (!(detail.links || []).length) links.appendChild(view.make("li", "muted", s.t(tracked.clicks ? "read.noLinks" : "read.clicksNotTracked")));
    (detail.links || []).forEach(function (link) {
      const entry = view.make("li", link.clicks ? "link clicked" : "link");
      entry.appendChild(view.make("span", "url", link.url));
      let counted = s.t("read.clicks", { count: link.clicks });
      if (link.machine_clicks) counted += " (" + s.t("read.machine", { count: link.machine_clicks }) + ")";
      entry.appendChild(view.make("span", "count", counted));
      links.appendChild(entry);
    });
  }

  function summaryNotice(app, detail) {
    if (!detail.opens.count) return;
    mb().office.notify(NOTIFICATION_KEY, app.s.t("notify.summary", {
      count: detail.opens.count, time: app.s.time(detail.opens.last_at || detail.opens.first_at),
    })).catch(function () { return undefined; });
  }

  function eventNotice(app, data) {
    const s = app.s;
    const message = data.event === "click"
      ? s.t("notify.clicked", { url: data.link || "", time: s.time(data.at) })
      : s.t("notify.opened", { time: s.time(data.at) });
    mb().office.notify(NOTIFICATION_KEY, message).catch(function () { return undefined; });
  }

  function follow(app, messageId, lastEventId) {
    const controller = new AbortController();
    live = controller;
    const view = mb().view;
    let refreshing = null;
    function refresh() {
      if (refreshing) return refreshing;
      refreshing = app.api.message(messageId).then(function (detail) {
        if (!controller.signal.aborted) render(app, detail);
      }).catch(function () { return undefined; }).then(function () { refreshing = null; });
      return refreshing;
    }
    function onEvent(type, data) {
      if (controller.signal.aborted || !data || data.message_id !== messageId) return;
      if (type === "notification") eventNotice(app, data);
      refresh();
    }
    (async function loop() {
      let failures = 0;
      let last = lastEventId;
      while (!controller.signal.aborted) {
        try {
          last = await app.api.stream(onEvent, { signal: controller.signal, lastEventId: last, url: app.streamUrl,
            onOpen: function () { failures = 0; view.text("live", app.s.t("read.live")); } });
        } catch (err) {
          if (err && err.status === 401) return; // signed out elsewhere: nothing more to follow
        }
        if (controller.signal.aborted) return;
        view.text("live", app.s.t("read.reconnecting"));
        await sleep(RECONNECT_MS[Math.min(failures, RECONNECT_MS.length - 1)]);
        failures += 1;
        refresh(); // whatever happened while disconnected
      }
    })();
  }

  async function show(app) {
    stop();
    const view = mb().view;
    view.section("read");
    view.show("read-loading", true);
    view.show("read-untracked", false);
    view.show("read-detail", false);
    const item = mb().office.item();
    const messageId = (await fromHeader()) || (await fromConversation(app, item));
    if (!messageId) {
      view.show("read-loading", false);
      view.show("read-untracked", true);
      view.ready("read");
      return;
    }
    const lastEventId = await app.api.latestNotificationId().catch(function () { return 0; });
    let detail;
    try {
      detail = await app.api.message(messageId);
    } catch (err) {
      if (err.status !== 404) throw err;
      view.show("read-loading", false);
      view.show("read-untracked", true);
      view.ready("read");
      return;
    }
    render(app, detail);
    view.ready("read");
    app.api.viewing(messageId).catch(function () { return undefined; });
    summaryNotice(app, detail);
    follow(app, messageId, lastEventId);
  }

  (root.mailbeacon = root.mailbeacon || {}).read = { show: show, stop: stop };
})(globalThis);
