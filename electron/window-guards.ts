import { APP_ORIGIN } from './app-protocol.js';

/**
 * The console window's hardening as data and pure functions, so it is tested without Electron
 * (electron/main.ts applies them): every isolation switch on, navigation only within the
 * console's own origin, no new windows (https links go to the system browser), no permissions.
 */
export const HARDENED_WEB_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  webviewTag: false,
  spellcheck: false,
  navigateOnDragDrop: false,
} as const;

function originOf(url: string): string | null {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return null;
  }
}

/** `will-navigate`: only pages of the console's own origin (exact, so app://console.evil is not it). */
export function allowNavigation(url: string, origin: string = APP_ORIGIN): boolean {
  return originOf(url) === origin;
}

/** `setWindowOpenHandler`: never a new window; an https link opens in the system browser, anything else nowhere. */
export function windowOpenDecision(url: string): { action: 'deny'; openExternally: string | null } {
  return { action: 'deny', openExternally: /^https:\/\/[^\s]+$/.test(url) && originOf(url) !== null ? url : null };
}

/** Permission requests (camera, notifications from the page, geolocation…): the console needs none. */
export function permissionDecision(_permission: string): boolean {
  return false;
}
