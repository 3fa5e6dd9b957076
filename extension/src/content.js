// The content script Chrome injects into Gmail. Content scripts can't be ES modules, so this loads the real
// entry point as one (src/content/main.js, listed in web_accessible_resources for mail.google.com only).
(async () => {
  try {
    const { boot } = await import(chrome.runtime.getURL('src/content/main.js'));
    await boot();
  } catch (error) {
    console.info('[mailbeacon] not started on this page:', error?.message ?? error);
  }
})();
