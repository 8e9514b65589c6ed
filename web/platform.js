// What this browser can do about notifications. iOS and iPadOS give Web Push and the
// Notification API only to a site added to the Home Screen and opened from there.

/** What the page says where a notification setting cannot work on an iPhone or iPad. */
export const HOME_SCREEN_NOTE =
  'On iPhone and iPad, add ssechat to the Home Screen to get notifications.';

/** True on an iPhone or iPad (iPadOS says it is a Mac, but a Mac has no touch screen). */
function isIos() {
  return (
    /iPad|iPhone|iPod/.test(navigator.userAgent) ||
    (navigator.userAgent.includes('Macintosh') && navigator.maxTouchPoints > 1)
  );
}

/** True when the page runs as an installed app (from the Home Screen). */
function installed() {
  const legacy = /** @type {{ standalone?: boolean }} */ (navigator).standalone;
  return legacy === true || window.matchMedia('(display-mode: standalone)').matches;
}

/** True where notifications need the app on the Home Screen first (iOS, in a browser tab). */
export function needsHomeScreen() {
  return isIos() && (!installed() || !('PushManager' in window));
}
