/* mailbeacon add-in: every string the user reads, in English and Turkish, chosen from Office's display language.
 *
 * Pure: no Office, no DOM. `strings(displayLanguage)` returns a translator for that language; an unknown language
 * gets English, and a key missing from a translation falls back to the English text rather than showing a key.
 * Plural forms go through Intl.PluralRules, so "1 open" / "2 opens" and Turkish's single form both come out right.
 */
(function (root, factory) {
  "use strict";
  const mod = factory();
  (root.mailbeacon = root.mailbeacon || {}).i18n = mod;
  if (typeof module === "object" && module.exports) module.exports = mod;
})(typeof globalThis !== "undefined" ? globalThis : this, function () {
  "use strict";

  const LANGUAGES = { en: "en-US", tr: "tr-TR" };

  const en = {
    "app.name": "mailbeacon",
    "app.tooOld": "This version of Outlook is too old for mailbeacon: it needs support for Mailbox 1.12. Messages you send here are not tracked.",
    "signin.heading": "Sign in to track your email",
    "signin.explain": "mailbeacon uses your Microsoft account to add tracking when you send, and to show you who opened what.",
    "signin.button": "Sign in with Microsoft",
    "signin.working": "Signing in…",
    "signin.failed": "Sign-in didn't finish: {reason}",
    "signin.cancelled": "The sign-in window was closed before you finished.",
    "signin.blocked": "The sign-in window couldn't open. If your browser blocks pop-ups, allow them for Outlook and try again.",
    "signin.ssoUnavailable": "Single sign-on isn't available here, so sign in with the button below.",
    "account.signedInAs": "Signed in as {email}",
    "account.signOut": "Sign out",
    "account.disconnected": "mailbeacon can no longer reach your mailbox ({reason}). Sign in again to keep tracking.",
    "compose.heading": "Tracking for this message",
    "compose.trackOpens": "Track opens",
    "compose.trackClicks": "Track link clicks",
    "compose.willTrack": "mailbeacon adds tracking when you select Send.",
    "compose.willNotTrack": "This message will be sent without tracking.",
    "compose.trackingOff": "Tracking is turned off in your mailbeacon settings.",
    "compose.opensOff": "Open tracking is turned off in your mailbeacon settings.",
    "compose.clicksOff": "Link tracking is turned off in your mailbeacon settings.",
    "compose.remembered": "Your choice is also the default for your next messages.",
    "read.loading": "Looking this message up…",
    "read.notTracked": "mailbeacon didn't track this message.",
    "read.opened": "Opened",
    "read.notOpened": "Not opened yet",
    "read.clicked": "Clicked",
    "read.notClicked": "Not clicked yet",
    "read.opensNotTracked": "Opens weren't tracked for this message.",
    "read.clicksNotTracked": "Link clicks weren't tracked for this message.",
    "read.opens": { one: "{count} open", other: "{count} opens" },
    "read.clicks": { one: "{count} click", other: "{count} clicks" },
    "read.machine": { one: "{count} more by a machine, not counted", other: "{count} more by machines, not counted" },
    "read.shared": "This message went to {count} recipients who share one tracking pixel, so an open can't be told apart by person.",
    "read.honest": "As far as a tracking pixel can tell: an open is counted when a mail program loads the pixel.",
    "read.firstOpened": "First opened {time}",
    "read.lastOpened": "Last opened {time}",
    "read.timeline": "Timeline",
    "read.timelineEmpty": "Nothing has happened yet.",
    "read.links": "Links",
    "read.noLinks": "No links in this message are tracked.",
    "read.live": "Live: this updates as it happens.",
    "read.reconnecting": "Reconnecting to live updates…",
    "read.hit.open": "Opened",
    "read.hit.click": "Clicked {url}",
    "read.status.queued": "Waiting to be sent.",
    "read.status.sending": "Being sent.",
    "read.status.prepared": "Waiting for Outlook to send it.",
    "read.status.sent": "Sent {time}.",
    "read.status.failed": "Not sent: {reason}",
    "read.status.abandoned": "Outlook never sent it, so nothing was tracked.",
    "kind.human": "by a person",
    "kind.proxy_open": "through a mail provider's image proxy (a real open)",
    "kind.prefetch": "by a prefetch (may not have been read)",
    "kind.scanner": "by a security scanner",
    "kind.preview": "by a link preview",
    "kind.self": "by you",
    "kind.unknown": "by something we couldn't identify",
    "notify.opened": "mailbeacon: opened {time}",
    "notify.clicked": "mailbeacon: {url} clicked {time}",
    "notify.summary": { one: "mailbeacon: opened once, last {time}", other: "mailbeacon: opened {count} times, last {time}" },
    "settings.heading": "Settings",
    "settings.category": "Mark my opened messages with the “Opened” category in Sent Items",
    "error.unreachable": "mailbeacon can't be reached right now. Try again in a moment.",
    "error.generic": "Something went wrong: {reason}",
    "send.needSignIn": "mailbeacon can't track this message because you aren't signed in. Your message is unchanged: open mailbeacon to sign in, or send it without tracking.",
    "send.unreachable": "mailbeacon couldn't be reached, so this message isn't tracked. Your message is unchanged: send it without tracking, or go back and try again in a moment.",
    "send.refused": "mailbeacon couldn't track this message: {reason} Your message is unchanged: send it without tracking, or go back.",
    "send.tooLarge": "This message is too large for Outlook to take back with tracking added. Your message is unchanged: send it without tracking, or go back.",
    "send.unsafe": "mailbeacon couldn't add tracking without changing your message ({problem}), so it put your message back exactly as you wrote it. Send it without tracking, or go back.",
    "send.unsafeNotRestored": "mailbeacon couldn't add tracking cleanly ({problem}) and couldn't put your message back exactly. Go back and check your message before you send it.",
    "send.graphSent": "Sent with tracking: mailbeacon sent this message from your mailbox and it is in Sent Items. Choose Don't Send and close this window; Send Anyway would send it a second time, untracked.",
    "send.graphFailed": "mailbeacon couldn't send this message: {reason} Nothing was sent. Send it without tracking, or go back.",
    "send.graphPending": "mailbeacon is still sending this message. Don't send it again: it will be in Sent Items shortly, and mailbeacon tells you if it fails.",
    "send.graphUnknown": "mailbeacon stopped answering while it was sending this message. Check Sent Items before you send it again.",
    "send.openPane": "Open mailbeacon",
    "problem.inlineImage": "an inline image went missing",
    "problem.text": "Outlook changed or shortened the text",
    "problem.tracking": "Outlook dropped the tracking",
    "problem.attachment": "an attachment went missing",
    "problem.outlook": "Outlook refused the change: {reason}",
    "problem.timeout": "it took too long",
    "signedIn.done": "You're signed in. You can close this window.",
    "signedIn.failed": "Sign-in didn't finish. Close this window and try again.",
  };

  const tr = {
    "app.name": "mailbeacon",
    "app.tooOld": "Bu Outlook sürümü mailbeacon için çok eski: Mailbox 1.12 desteği gerekiyor. Buradan gönderdiğiniz iletiler izlenmez.",
    "signin.heading": "E-postanızı izlemek için oturum açın",
    "signin.explain": "mailbeacon, gönderirken izleme eklemek ve kimin neyi açtığını göstermek için Microsoft hesabınızı kullanır.",
    "signin.button": "Microsoft ile oturum aç",
    "signin.working": "Oturum açılıyor…",
    "signin.failed": "Oturum açma tamamlanmadı: {reason}",
    "signin.cancelled": "Oturum açma penceresi, siz bitirmeden kapatıldı.",
    "signin.blocked": "Oturum açma penceresi açılamadı. Tarayıcınız açılır pencereleri engelliyorsa Outlook için izin verip yeniden deneyin.",
    "signin.ssoUnavailable": "Çoklu oturum açma burada kullanılamıyor; aşağıdaki düğmeyle oturum açın.",
    "account.signedInAs": "{email} olarak oturum açıldı",
    "account.signOut": "Oturumu kapat",
    "account.disconnected": "mailbeacon artık posta kutunuza erişemiyor ({reason}). İzlemeye devam etmek için yeniden oturum açın.",
    "compose.heading": "Bu iletinin izlenmesi",
    "compose.trackOpens": "Açılmaları izle",
    "compose.trackClicks": "Bağlantı tıklamalarını izle",
    "compose.willTrack": "Gönder'i seçtiğinizde mailbeacon izlemeyi ekler.",
    "compose.willNotTrack": "Bu ileti izleme olmadan gönderilecek.",
    "compose.trackingOff": "mailbeacon ayarlarınızda izleme kapalı.",
    "compose.opensOff": "mailbeacon ayarlarınızda açılma izleme kapalı.",
    "compose.clicksOff": "mailbeacon ayarlarınızda bağlantı izleme kapalı.",
    "compose.remembered": "Seçiminiz sonraki iletileriniz için de varsayılan olur.",
    "read.loading": "İleti aranıyor…",
    "read.notTracked": "mailbeacon bu iletiyi izlemedi.",
    "read.opened": "Açıldı",
    "read.notOpened": "Henüz açılmadı",
    "read.clicked": "Tıklandı",
    "read.notClicked": "Henüz tıklanmadı",
    "read.opensNotTracked": "Bu iletide açılmalar izlenmedi.",
    "read.clicksNotTracked": "Bu iletide bağlantı tıklamaları izlenmedi.",
    "read.opens": { other: "{count} açılma" },
    "read.clicks": { other: "{count} tıklama" },
    "read.machine": { other: "makinelerden {count} tane daha, sayılmadı" },
    "read.shared": "Bu ileti tek bir izleme pikselini paylaşan {count} alıcıya gitti; bu yüzden açılmaların kime ait olduğu ayırt edilemez.",
    "read.honest": "Bir izleme pikselinin söyleyebildiği kadarıyla: bir posta programı pikseli yüklediğinde açılma sayılır.",
    "read.firstOpened": "İlk açılma: {time}",
    "read.lastOpened": "Son açılma: {time}",
    "read.timeline": "Zaman çizelgesi",
    "read.timelineEmpty": "Henüz bir şey olmadı.",
    "read.links": "Bağlantılar",
    "read.noLinks": "Bu iletide izlenen bağlantı yok.",
    "read.live": "Canlı: olanlar anında burada görünür.",
    "read.reconnecting": "Canlı güncellemelere yeniden bağlanılıyor…",
    "read.hit.open": "Açıldı",
    "read.hit.click": "{url} tıklandı",
    "read.status.queued": "Gönderilmeyi bekliyor.",
    "read.status.sending": "Gönderiliyor.",
    "read.status.prepared": "Outlook'un göndermesi bekleniyor.",
    "read.status.sent": "Gönderildi: {time}.",
    "read.status.failed": "Gönderilmedi: {reason}",
    "read.status.abandoned": "Outlook bu iletiyi hiç göndermedi; bu yüzden hiçbir şey izlenmedi.",
    "kind.human": "bir kişi tarafından",
    "kind.proxy_open": "bir e-posta sağlayıcısının görsel vekil sunucusu üzerinden (gerçek bir açılma)",
    "kind.prefetch": "önceden yükleme ile (okunmamış olabilir)",
    "kind.scanner": "bir güvenlik tarayıcısı tarafından",
    "kind.preview": "bir bağlantı önizlemesi tarafından",
    "kind.self": "sizin tarafınızdan",
    "kind.unknown": "tanımlayamadığımız bir şey tarafından",
    "notify.opened": "mailbeacon: açıldı, {time}",
    "notify.clicked": "mailbeacon: {url} tıklandı, {time}",
    "notify.summary": { other: "mailbeacon: {count} kez açıldı, son {time}" },
    "settings.heading": "Ayarlar",
    "settings.category": "Açılan iletilerimi Gönderilmiş Öğeler'de “Opened” (Açıldı) kategorisiyle işaretle",
    "error.unreachable": "mailbeacon'a şu anda ulaşılamıyor. Birazdan yeniden deneyin.",
    "error.generic": "Bir şeyler ters gitti: {reason}",
    "send.needSignIn": "Oturum açmadığınız için mailbeacon bu iletiyi izleyemiyor. İletiniz değişmedi: oturum açmak için mailbeacon'ı açın ya da iletiyi izlemeden gönderin.",
    "send.unreachable": "mailbeacon'a ulaşılamadı; bu yüzden bu ileti izlenmiyor. İletiniz değişmedi: izlemeden gönderin ya da geri dönüp birazdan yeniden deneyin.",
    "send.refused": "mailbeacon bu iletiyi izleyemedi: {reason} İletiniz değişmedi: izlemeden gönderin ya da geri dönün.",
    "send.tooLarge": "Bu ileti, izleme eklenmiş hâliyle Outlook'a geri verilemeyecek kadar büyük. İletiniz değişmedi: izlemeden gönderin ya da geri dönün.",
    "send.unsafe": "mailbeacon iletinizi değiştirmeden izleme ekleyemedi ({problem}); bu yüzden iletinizi tam yazdığınız gibi geri koydu. İzlemeden gönderin ya da geri dönün.",
    "send.unsafeNotRestored": "mailbeacon izlemeyi temiz biçimde ekleyemedi ({problem}) ve iletinizi tam olarak geri koyamadı. Göndermeden önce geri dönüp iletinizi kontrol edin.",
    "send.graphSent": "İzlemeyle gönderildi: mailbeacon bu iletiyi posta kutunuzdan gönderdi, ileti Gönderilmiş Öğeler'de. Gönderme'yi seçip bu pencereyi kapatın; Yine de Gönder, iletiyi izlemesiz olarak ikinci kez gönderir.",
    "send.graphFailed": "mailbeacon bu iletiyi gönderemedi: {reason} Hiçbir şey gönderilmedi. İzlemeden gönderin ya da geri dönün.",
    "send.graphPending": "mailbeacon bu iletiyi hâlâ gönderiyor. Yeniden göndermeyin: birazdan Gönderilmiş Öğeler'de olacak; başarısız olursa mailbeacon size bildirir.",
    "send.graphUnknown": "mailbeacon bu iletiyi gönderirken yanıt vermeyi bıraktı. Yeniden göndermeden önce Gönderilmiş Öğeler'e bakın.",
    "send.openPane": "mailbeacon'ı aç",
    "problem.inlineImage": "satır içi bir görsel kayboldu",
    "problem.text": "Outlook metni değiştirdi ya da kısalttı",
    "problem.tracking": "Outlook izlemeyi düşürdü",
    "problem.attachment": "bir ek kayboldu",
    "problem.outlook": "Outlook değişikliği reddetti: {reason}",
    "problem.timeout": "çok uzun sürdü",
    "signedIn.done": "Oturum açtınız. Bu pencereyi kapatabilirsiniz.",
    "signedIn.failed": "Oturum açma tamamlanmadı. Bu pencereyi kapatıp yeniden deneyin.",
  };

  const TABLES = { en: en, tr: tr };

  /** "tr-TR", "tr" -> "tr"; anything we have no strings for -> "en". */
  function languageOf(displayLanguage) {
    const base = String(displayLanguage || "").trim().toLowerCase().split(/[-_]/)[0];
    return Object.prototype.hasOwnProperty.call(TABLES, base) ? base : "en";
  }

  function fill(template, params) {
    return template.replace(/\{(\w+)\}/g, function (whole, name) {
      return params && Object.prototype.hasOwnProperty.call(params, name) ? String(params[name]) : whole;
    });
  }

  function strings(displayLanguage) {
    const language = languageOf(displayLanguage);
    const locale = LANGUAGES[language];
    const table = TABLES[language];
    const plurals = typeof Intl !== "undefined" && Intl.PluralRules ? new Intl.PluralRules(locale) : null;

    function t(key, params) {
      let entry = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : en[key];
      if (entry === undefined) throw new Error("no string " + key);
      if (typeof entry === "object") {
        const count = params && typeof params.count === "number" ? params.count : 0;
        const form = plurals ? plurals.select(count) : (count === 1 ? "one" : "other");
        entry = entry[form] !== undefined ? entry[form] : entry.other;
      }
      return fill(entry, params);
    }

    /** A moment as the reader's language writes it ("3 Mar 2025, 14:02" / "3 Mar 2025 14:02"). */
    function time(value) {
      const moment = value instanceof Date ? value : new Date(value);
      if (isNaN(moment.getTime())) return "";
      try {
        return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(moment);
      } catch (err) {
        return moment.toISOString().replace("T", " ").slice(0, 16);
      }
    }

    return { language: language, locale: locale, t: t, time: time };
  }

  return { strings: strings, languageOf: languageOf, tables: TABLES };
});
