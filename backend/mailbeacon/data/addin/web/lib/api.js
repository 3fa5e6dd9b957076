/* mailbeacon add-in: the backend's API, as the task pane and the send handler use it.
 *
 * DOM-free. Every call carries `Authorization: Bearer <our API token>`; an error answer becomes an ApiError with
 * the backend's {error: {code, message}}, a network failure or a timeout an ApiError with status 0, so a caller
 * can always tell "the backend said no" from "the backend wasn't there". A 401 tells the token's owner
 * (onUnauthorized) before rejecting, so a revoked token is forgotten at once.
 *
 * The real-time channel is Server-Sent Events read with fetch (EventSource can't send the Authorization header);
 * SseParser is the pure part of that and is unit-tested on its own.
 */
(function (root, factory) {
  "use strict";
  const mod = factory(root);
  (root.mailbeacon = root.mailbeacon || {}).api = mod;
  if (typeof module === "object" && module.exports) module.exports = mod;
})(typeof globalThis !== "undefined" ? globalThis : this, function (root) {
  "use strict";

  const DEFAULT_TIMEOUT_MS = 20000;

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message || code);
      this.name = "ApiError";
      this.status = status;
      this.code = code;
    }

    get unreachable() {
      return this.status === 0;
    }
  }

  /** Where the backend is: the pages are served from <public URL>/addin/…, so it is everything before /addin/. */
  function baseUrlFrom(href) {
    const match = /^(https?:\/\/[^/?#]+(?:\/[^?#]*?)?)\/addin\//.exec(String(href || ""));
    return match ? match[1] : null;
  }

  /** The pages' own origin where there is a `location`; classic Outlook's JavaScript-only event runtime has none
   * and takes only absolute URLs, so there the backend's line in front of commands.js names the public URL. */
  function defaultBase() {
    const here = root.location && root.location.href;
    const office = root.Office && root.Office.context && root.Office.context.urls;
    return baseUrlFrom(here) || (office && baseUrlFrom(office.javascriptRuntimeUrl)) || root.MAILBEACON_PUBLIC_URL || null;
  }

  /** Incremental text/event-stream parser (the WHATWG rules we need: data, event, id, comments, CRLF). */
  class SseParser {
    constructor() {
      this.buffer = "";
      this.data = [];
      this.event = "";
      this.lastEventId = "";
    }

    /** Feed a decoded chunk; returns the events it completed as {event, data, id}. */
    feed(chunk) {
      this.buffer += chunk;
      const events = [];
      let newline;
      while ((newline = this.buffer.search(/\r\n|\r|\n/)) >= 0) {
        const line = this.buffer.slice(0, newline);
        const width = this.buffer.startsWith("\r\n", newline) ? 2 : 1;
        if (this.buffer[newline] === "\r" && width === 1 && newline === this.buffer.length - 1) break; // CR of a CRLF split
        this.buffer = this.buffer.slice(newline + width);
        this.line(line, events);
      }
      return events;
    }

    line(line, events) {
      if (line === "") {
        if (this.data.length) {
          events.push({ event: this.event || "message", data: this.data.join("\n"), id: this.lastEventId });
        }
        this.data = [];
        this.event = "";
        return;
      }
      if (line[0] === ":") return;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value[0] === " ") value = value.slice(1);
      if (field === "data") this.data.push(value);
      else if (field === "event") this.event = value;
      else if (field === "id" && value.indexOf("\u0000") < 0) this.lastEventId = value;
    }
  }

  function createClient(options) {
    const base = (options.base || defaultBase() || "").replace(/\/+$/, "");
    const getToken = options.getToken || function () { return null; };
    const onUnauthorized = options.onUnauthorized || function () {};
    const fetchImpl = options.fetch || root.fetch.bind(root);
    const defaultTimeout = options.timeoutMs || DEFAULT_TIMEOUT_MS;

    async function request(method, path, opts) {
      const settings = opts || {};
      const headers = { Accept: "application/json" };
      const token = settings.anonymous ? null : await getToken();
      if (token) headers.Authorization = "Bearer " + token;
      if (settings.body !== undefined) headers["Content-Type"] = "application/json";
      const controller = typeof AbortController === "function" ? new AbortController() : null;
      const timer = controller ? setTimeout(function () { controller.abort(); }, settings.timeoutMs || defaultTimeout) : null;
      let response;
      try {
        response = await fetchImpl(base + path, {
          method: method, headers: headers, credentials: "omit", cache: "no-store",
          body: settings.body === undefined ? undefined : JSON.stringify(settings.body),
          signal: controller ? controller.signal : undefined, keepalive: Boolean(settings.keepalive),
        });
      } catch (err) {
        const timedOut = controller && controller.signal.aborted;
        throw new ApiError(0, timedOut ? "timeout" : "unreachable", timedOut ? "mailbeacon took too long to answer" :
          "mailbeacon could not be reached");
      } finally {
        if (timer) clearTimeout(timer);
      }
      let payload = null;
      const text = await response.text().catch(function () { return ""; });
      if (text) {
        try {
          payload = JSON.parse(text);
        } catch (err) {
          payload = null;
        }
      }
      if (!response.ok) {
        const error = payload && payload.error ? payload.error : {};
        if (response.status === 401 && token) await onUnauthorized();
        const failure = new ApiError(response.status, error.code || "http_" + response.status,
          error.message || "mailbeacon answered " + response.status);
        failure.details = error;
        throw failure;
      }
      return payload;
    }

    /** Read the event stream until `signal` aborts or the connection ends; resolves with the last event id. */
    async function stream(onEvent, streamOptions) {
      const settings = streamOptions || {};
      const token = await getToken();
      const headers = { Accept: "text/event-stream" };
      if (token) headers.Authorization = "Bearer " + token;
      if (settings.lastEventId) headers["Last-Event-ID"] = String(settings.lastEventId);
      const url = (settings.url || base + "/api/v1/stream");
      let response;
      try {
        response = await fetchImpl(url, { headers: headers, credentials: "omit", cache: "no-store", signal: settings.signal });
      } catch (err) {
        throw new ApiError(0, "unreachable", "the live channel could not be reached");
      }
      if (!response.ok || !response.body) {
        if (response.status === 401 && token) await onUnauthorized();
        throw new ApiError(response.status, "http_" + response.status, "the live channel answered " + response.status);
      }
      if (settings.onOpen) settings.onOpen();
      const reader = response.body.getReader();
      const decoder = new TextDecoder();
      const parser = new SseParser();
      parser.lastEventId = settings.lastEventId ? String(settings.lastEventId) : "";
      try {
        for (;;) {
          const chunk = await reader.read();
          if (chunk.done) break;
          for (const event of parser.feed(decoder.decode(chunk.value, { stream: true }))) {
            let data;
            try {
              data = JSON.parse(event.data);
            } catch (err) {
              continue;
            }
            onEvent(event.event, data, event.id);
          }
        }
      } catch (err) {
        if (!(settings.signal && settings.signal.aborted)) throw new ApiError(0, "unreachable", "the live channel broke off");
      }
      return parser.lastEventId;
    }

    const json = function (body) { return { body: body }; };
    const id = encodeURIComponent;
    return {
      base: base,
      request: request,
      stream: stream,
      me: function () { return request("GET", "/api/v1/me"); },
      settings: function () { return request("GET", "/api/v1/settings"); },
      patchSettings: function (changes) { return request("PATCH", "/api/v1/settings", json(changes)); },
      sendThroughGraph: function (body) { return request("POST", "/api/v1/outlook/messages", json(body)); },
      prepare: function (body) { return request("POST", "/api/v1/messages/prepare", json(body)); },
      preparedSent: function (messageId) {
        return request("POST", "/api/v1/messages/" + id(messageId) + "/prepared-sent", { keepalive: true, timeoutMs: 5000 });
      },
      message: function (messageId) { return request("GET", "/api/v1/messages/" + id(messageId)); },
      rowStatus: function (threadIds) { return request("POST", "/api/v1/messages/status", json({ thread_ids: threadIds })); },
      latestNotificationId: function () {
        return request("GET", "/api/v1/notifications?limit=1").then(function (page) {
          const newest = page && page.notifications && page.notifications[0];
          return newest ? newest.id : 0;
        });
      },
      viewing: function (messageId) { return request("POST", "/api/v1/messages/" + id(messageId) + "/viewing"); },
      exchangeSsoToken: function (ssoToken, name) {
        return request("POST", "/auth/microsoft/sso", { anonymous: true, body: { sso_token: ssoToken, name: name } });
      },
      exchangeCode: function (body) { return request("POST", "/auth/token", { anonymous: true, body: body }); },
      revokeToken: function (tokenId) { return request("DELETE", "/api/v1/tokens/" + id(tokenId), { timeoutMs: 5000 }); },
    };
  }

  return { ApiError: ApiError, SseParser: SseParser, createClient: createClient, baseUrlFrom: baseUrlFrom,
    defaultBase: defaultBase };
});
