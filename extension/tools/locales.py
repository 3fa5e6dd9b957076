"""The source of _locales/*/messages.json: one table, so every language has every key with the same placeholders.

Run `python3 extension/tools/locales.py` after editing; the JSON files are what Chrome reads (and are committed).
A placeholder is written $NAME$ in the text; its value is the n-th substitution in the order of PLACEHOLDERS.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# key: (English, Turkish, placeholder names in substitution order, description for translators)
MESSAGES: dict[str, tuple[str, str, tuple[str, ...], str]] = {
    "extensionName": ("mailbeacon", "mailbeacon", (), "Product name; not translated."),
    "extensionDescription": ("Know when your emails are opened and your links clicked — honestly, from your own server.",
                             "E-postalarınızın ne zaman açıldığını ve bağlantılarınızın ne zaman tıklandığını kendi sunucunuzdan, dürüstçe öğrenin.",
                             (), "Chrome Web Store description."),
    "optionsTitle": ("mailbeacon settings", "mailbeacon ayarları", (), ""),
    "accountTitle": ("Account", "Hesap", (), ""),
    "signInWithGoogle": ("Sign in with Google", "Google ile oturum aç", (), ""),
    "signOut": ("Sign out", "Oturumu kapat", (), ""),
    "signingIn": ("Signing in…", "Oturum açılıyor…", (), ""),
    "signedOut": ("Signed out.", "Oturum kapatıldı.", (), ""),
    "connectedAs": ("Connected as $WHO$", "Bağlı hesap: $WHO$", ("who",), "Name and address of the Google account."),
    "notConnected": ("Not connected. Sign in to track your emails.", "Bağlı değil. E-postalarınızı izlemek için oturum açın.", (), ""),
    "serverTitle": ("Server", "Sunucu", (), ""),
    "backendLabel": ("mailbeacon server address", "mailbeacon sunucu adresi", (), ""),
    "backendHint": ("Your own mailbeacon server (self-hosted). Chrome asks once for permission to reach it.",
                    "Kendi mailbeacon sunucunuz. Chrome ona erişmek için bir kez izin ister.", (), ""),
    "extensionIdLabel": ("Extension id (list it in MAILBEACON_EXTENSION_IDS on the server):",
                         "Uzantı kimliği (sunucuda MAILBEACON_EXTENSION_IDS içine yazın):", (), ""),
    "save": ("Save", "Kaydet", (), ""),
    "backendSaved": ("Saved.", "Kaydedildi.", (), ""),
    "backendSavedNoPermission": ("Saved, but Chrome was not allowed to reach this server; mailbeacon will only work if the server allows this extension.",
                                 "Kaydedildi, ancak Chrome'un bu sunucuya erişmesine izin verilmedi; mailbeacon yalnızca sunucu bu uzantıya izin veriyorsa çalışır.",
                                 (), ""),
    "backendUrlEmpty": ("Enter the server's address.", "Sunucunun adresini girin.", (), ""),
    "backendUrlInvalid": ("That is not a server address (for example https://track.example.com).",
                          "Bu bir sunucu adresi değil (örneğin https://track.example.com).", (), ""),
    "backendUrlNeedsHttps": ("Use https:// — plain http is only for a server on this computer.",
                             "https:// kullanın — düz http yalnızca bu bilgisayardaki bir sunucu içindir.", (), ""),
    "settingsTitle": ("Tracking", "İzleme", (), ""),
    "trackingLegend": ("Tracking for this account", "Bu hesap için izleme", (), ""),
    "settingTrackOpens": ("Track email opens", "E-posta açılışlarını izle", (), ""),
    "settingTrackClicks": ("Track link clicks", "Bağlantı tıklamalarını izle", (), ""),
    "defaultsLegend": ("New messages start with", "Yeni iletiler şu ayarla başlar", (), ""),
    "notificationsLegend": ("Notify me", "Bana bildir", (), ""),
    "settingNotifications": ("Desktop notifications", "Masaüstü bildirimleri", (), ""),
    "settingEveryOpen": ("On every open (not only the first)", "Her açılışta (yalnızca ilkinde değil)", (), ""),
    "settingClicks": ("On link clicks", "Bağlantı tıklamalarında", (), ""),
    "quietHours": ("Quiet hours", "Sessiz saatler", (), ""),
    "quietFrom": ("from", "başlangıç", (), ""),
    "quietTo": ("to", "bitiş", (), ""),
    "quietOff": ("Off", "Kapalı", (), ""),
    "settingsSaved": ("Settings saved.", "Ayarlar kaydedildi.", (), ""),
    "openOptions": ("Settings", "Ayarlar", (), ""),
    "popupSignedOut": ("Sign in to see who opened your emails.", "E-postalarınızı kimin açtığını görmek için oturum açın.", (), ""),
    "notificationsTitle": ("Notifications", "Bildirimler", (), ""),
    "markAllRead": ("Mark all as read", "Tümünü okundu işaretle", (), ""),
    "noNotifications": ("No opens or clicks yet.", "Henüz açılma veya tıklama yok.", (), ""),
    "badgeUnread": ("mailbeacon — $COUNT$ new", "mailbeacon — $COUNT$ yeni", ("count",), ""),
    "togglesGroup": ("mailbeacon tracking", "mailbeacon izleme", (), "Accessible name of the two switches."),
    "toggleOpens": ("Track email opens", "E-posta açılışlarını izle", (), ""),
    "toggleOpensTooltip": ("Track email opens: know when this email is opened", "E-posta açılışlarını izle: bu e-postanın ne zaman açıldığını öğrenin", (), ""),
    "toggleClicks": ("Track link clicks", "Bağlantı tıklamalarını izle", (), ""),
    "toggleClicksTooltip": ("Track link clicks: know when a link in this email is clicked", "Bağlantı tıklamalarını izle: bu e-postadaki bir bağlantının ne zaman tıklandığını öğrenin", (), ""),
    "sendingTracked": ("Sending with tracking…", "İzlemeyle gönderiliyor…", (), ""),
    "sentTracked": ("Message sent, with tracking.", "İleti izlemeyle gönderildi.", (), ""),
    "stillSending": ("Still sending — Gmail is slow. The message stays in Drafts until it is sent; you'll be told if it fails.",
                     "Hâlâ gönderiliyor — Gmail yavaş. İleti gönderilene kadar Taslaklar'da kalır; başarısız olursa size bildirilir.", (), ""),
    "sendWithoutTracking": ("Send without tracking", "İzlemeden gönder", (), ""),
    "tryAgain": ("Try again", "Tekrar dene", (), ""),
    "dismiss": ("Dismiss", "Kapat", (), ""),
    "sendFailedTitle": ("mailbeacon couldn't send your message", "mailbeacon iletinizi gönderemedi", (), ""),
    "draftKept": ("It is in Drafts, as you wrote it.", "Yazdığınız gibi Taslaklar'da duruyor.", (), ""),
    "errorStaleDraft": ("Gmail hadn't saved your latest changes yet, so nothing was sent.",
                        "Gmail son değişikliklerinizi henüz kaydetmemişti, bu yüzden hiçbir şey gönderilmedi.", (), ""),
    "errorDraftMissing": ("Gmail no longer has this draft (was it sent or discarded?).",
                          "Gmail'de bu taslak artık yok (gönderildi ya da silindi mi?).", (), ""),
    "errorAccountDisconnected": ("Your Google account needs to be reconnected in mailbeacon's settings.",
                                 "Google hesabınızın mailbeacon ayarlarından yeniden bağlanması gerekiyor.", (), ""),
    "errorNoAccount": ("Connect your Google account in mailbeacon's settings first.",
                       "Önce mailbeacon ayarlarından Google hesabınızı bağlayın.", (), ""),
    "errorSignInAgain": ("Your mailbeacon sign-in has expired. Sign in again in the settings.",
                         "mailbeacon oturumunuzun süresi doldu. Ayarlardan yeniden oturum açın.", (), ""),
    "errorRateLimited": ("Too many requests just now; try again in a minute.", "Şu anda çok fazla istek var; bir dakika sonra tekrar deneyin.", (), ""),
    "errorBackendUnreachable": ("The mailbeacon server can't be reached.", "mailbeacon sunucusuna ulaşılamıyor.", (), ""),
    "errorNoHostPermission": ("Chrome isn't allowed to reach the mailbeacon server; allow it in the settings.",
                              "Chrome'un mailbeacon sunucusuna erişmesine izin verilmiyor; ayarlardan izin verin.", (), ""),
    "errorSendTimeout": ("The server didn't confirm the send in time.", "Sunucu gönderimi zamanında onaylamadı.", (), ""),
    "errorDraftNotSaved": ("Gmail hasn't saved this draft yet; wait a moment and try again.",
                           "Gmail bu taslağı henüz kaydetmedi; biraz bekleyip tekrar deneyin.", (), ""),
    "errorComposeUnreadable": ("mailbeacon couldn't read this compose window (Gmail may have changed).",
                               "mailbeacon bu yazma penceresini okuyamadı (Gmail değişmiş olabilir).", (), ""),
    "errorGaveUp": ("Gmail kept failing, so the message was not sent.", "Gmail sürekli hata verdi, bu yüzden ileti gönderilmedi.", (), ""),
    "errorGmailRefused": ("Gmail refused to send this message.", "Gmail bu iletiyi göndermeyi reddetti.", (), ""),
    "errorSignInCancelled": ("Sign-in was cancelled.", "Oturum açma iptal edildi.", (), ""),
    "errorSignInFailed": ("Sign-in failed. Check the server address and try again.", "Oturum açılamadı. Sunucu adresini kontrol edip tekrar deneyin.", (), ""),
    "errorExtensionReloaded": ("mailbeacon was updated; reload Gmail.", "mailbeacon güncellendi; Gmail'i yeniden yükleyin.", (), ""),
    "errorGeneric": ("Something went wrong.", "Bir şeyler ters gitti.", (), ""),
    "opensOnce": ("Opened once", "Bir kez açıldı", (), ""),
    "opensMany": ("Opened $COUNT$ times", "$COUNT$ kez açıldı", ("count",), ""),
    "notOpened": ("Not opened yet", "Henüz açılmadı", (), ""),
    "lastAt": ("last $WHEN$", "son: $WHEN$", ("when",), "WHEN is a relative time such as '2 hr. ago'."),
    "machineOpensOne": ("1 machine open not counted", "1 makine açılışı sayılmadı", (), ""),
    "machineOpensMany": ("$COUNT$ machine opens not counted", "$COUNT$ makine açılışı sayılmadı", ("count",), ""),
    "clicksOnce": ("Clicked once", "Bir kez tıklandı", (), ""),
    "clicksMany": ("Clicked $COUNT$ times", "$COUNT$ kez tıklandı", ("count",), ""),
    "notClicked": ("No clicks yet", "Henüz tıklanmadı", (), ""),
    "threadBarLabel": ("mailbeacon tracking for this conversation", "Bu görüşme için mailbeacon izlemesi", (), ""),
    "showTimeline": ("Show timeline", "Zaman çizelgesini göster", (), ""),
    "hideTimeline": ("Hide timeline", "Zaman çizelgesini gizle", (), ""),
    "loading": ("Loading…", "Yükleniyor…", (), ""),
    "timelineEmpty": ("No opens or clicks yet.", "Henüz açılma veya tıklama yok.", (), ""),
    "timelineUnavailable": ("The timeline can't be loaded right now.", "Zaman çizelgesi şu anda yüklenemiyor.", (), ""),
    "timelineOpen": ("Opened", "Açıldı", (), ""),
    "timelineClick": ("Clicked $URL$", "Tıklandı: $URL$", ("url",), ""),
    "timelineUnknownLink": ("a link", "bir bağlantı", (), ""),
    "timelinePerson": ("by a person", "bir kişi tarafından", (), ""),
    "timelinePersonWhere": ("by a person ($WHERE$)", "bir kişi tarafından ($WHERE$)", ("where",), ""),
    "timelineProxyOpen": ("through the recipient's mail provider (device and place hidden)",
                          "alıcının e-posta sağlayıcısı üzerinden (cihaz ve konum gizli)", (), ""),
    "timelineMachine": ("machine, not counted: $REASON$", "makine, sayılmadı: $REASON$", ("reason",), ""),
    "timelineSelf": ("you, not counted", "siz, sayılmadı", (), ""),
    "timelineRepeat": ("repeat, not counted", "tekrar, sayılmadı", (), ""),
    "navTracked": ("Tracked", "İzlenenler", (), "Left navigation entry."),
    "navTrackedTooltip": ("Tracked emails: who opened, who clicked", "İzlenen e-postalar: kim açtı, kim tıkladı", (), ""),
    "panelTitle": ("Tracked emails", "İzlenen e-postalar", (), ""),
    "panelFilters": ("Show", "Göster", (), ""),
    "filterAll": ("All tracked", "Tüm izlenenler", (), ""),
    "filterOpened": ("Opened", "Açılanlar", (), ""),
    "filterClicked": ("Clicked", "Tıklananlar", (), ""),
    "filterNotOpened": ("Not opened", "Açılmayanlar", (), ""),
    "panelSearch": ("Search subject or recipient", "Konu veya alıcı ara", (), ""),
    "panelEmpty": ("Nothing here yet.", "Burada henüz bir şey yok.", (), ""),
    "panelUnavailable": ("The list can't be loaded right now.", "Liste şu anda yüklenemiyor.", (), ""),
    "loadMore": ("Load more", "Daha fazla yükle", (), ""),
    "close": ("Close", "Kapat", (), ""),
    "noSubject": ("(no subject)", "(konu yok)", (), ""),
    "someone": ("someone", "biri", (), ""),
    "recipientAndOthers": ("$FIRST$ and $COUNT$ others", "$FIRST$ ve $COUNT$ kişi daha", ("first", "count"), ""),
    "notifyOpenTitle": ("Opened: $SUBJECT$", "Açıldı: $SUBJECT$", ("subject",), ""),
    "notifyOpenBody": ("Sent to $WHOM$", "Alıcı: $WHOM$", ("whom",), ""),
    "notifyClickTitle": ("Link clicked: $SUBJECT$", "Bağlantı tıklandı: $SUBJECT$", ("subject",), ""),
    "notifyClickBody": ("$URL$ · sent to $WHOM$", "$URL$ · alıcı: $WHOM$", ("url", "whom"), ""),
    "status_queued": ("waiting to send", "gönderilmeyi bekliyor", (), ""),
    "status_sending": ("sending", "gönderiliyor", (), ""),
    "status_sent": ("sent", "gönderildi", (), ""),
    "status_failed": ("not sent", "gönderilmedi", (), ""),
}

LANGUAGES = {"en": 0, "tr": 1}


def render(language: str) -> dict:
    index = LANGUAGES[language]
    out = {}
    for key, (en, tr, names, description) in MESSAGES.items():
        text = (en, tr)[index]
        used = {m.lower() for m in re.findall(r"\$([A-Za-z]+)\$", text)}
        if used != set(names):
            raise SystemExit(f"{language}:{key}: placeholders {sorted(used)} != {sorted(names)}")
        entry: dict = {"message": text}
        if description and language == "en":
            entry["description"] = description
        if names:
            entry["placeholders"] = {name: {"content": f"${i}"} for i, name in enumerate(names, start=1)}
        out[key] = entry
    return out


def main() -> None:
    for language in LANGUAGES:
        path = ROOT / "_locales" / language / "messages.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(render(language), ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
