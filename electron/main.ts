import { app, BrowserWindow, Menu, Notification, Tray, dialog, nativeImage, ipcMain, protocol, safeStorage, session, shell } from 'electron';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentSupervisor, type AgentHandle, type AgentState } from './agent-supervisor.js';
import { APP_ORIGIN, serveConsoleFile } from './app-protocol.js';
import { EventBridge } from './event-bridge.js';
import { registerIpcBridge } from './ipc-main.js';
import { PassphraseGate } from './passphrase-gate.js';
import { PassphraseStore } from './passphrase-store.js';
import { HARDENED_WEB_PREFERENCES, allowNavigation, permissionDecision, windowOpenDecision } from './window-guards.js';
import { watchFailedBackups } from './notifications.js';
import { TRAY_ICON_DATA_URL } from './tray-icon.js';

/**
 * The desktop app's main process: starts (or attaches to) the agent, opens the console window
 * with every Electron hardening switch on, bridges it to the agent over typed IPC, and keeps a
 * tray icon with the agent's state. The renderer never sees the token or Node.
 *
 * Environment:
 *   WEDSYNC_AGENT_URL + WEDSYNC_AGENT_TOKEN_FILE  attach to an agent running as a service
 *   DATABASE_URL (or a config file)               run `wedsync-backup agent` as a child
 *   neither                                       run `wedsync-backup demo` (embedded PostgreSQL)
 */
const here = dirname(fileURLToPath(import.meta.url));
/** Package root: dist-electron/electron/main.js → ../..; packaged apps keep the same layout inside app.asar. */
const ROOT = resolve(here, '..', '..');
const RENDERER_DIST = join(ROOT, 'renderer', 'dist');
const CLI = join(ROOT, 'bin', 'wedsync-backup.js');

protocol.registerSchemesAsPrivileged([{ scheme: 'app', privileges: { standard: true, secure: true, supportFetchAPI: false, corsEnabled: false } }]);

let win: BrowserWindow | null = null;
let tray: Tray | null = null;
const trusted = new Set<number>();
let events: EventBridge | null = null;
let lastState: { state: AgentState; detail?: string | undefined } = { state: 'starting' };

function broadcast(state: AgentState, detail?: string): void {
  lastState = { state, detail };
  win?.webContents.send('wedsync:event', { type: 'agent-state', state, detail });
  tray?.setToolTip(`WedSync Backup — agent ${state}${detail ? `: ${detail}` : ''}`);
  updateTrayMenu(state);
}

function updateTrayMenu(state: AgentState): void {
  if (!tray) return;
  const login = app.getLoginItemSettings().openAtLogin;
  tray.setContextMenu(
    Menu.buildFromTemplate([
      { label: `Agent: ${state}`, enabled: false },
      { label: 'Open console', click: () => showWindow() },
      { type: 'separator' },
      { label: 'Start at login', type: 'checkbox', checked: login, click: (item) => app.setLoginItemSettings({ openAtLogin: item.checked }) },
      { label: 'Quit', role: 'quit' },
    ]),
  );
}

function showWindow(): void {
  if (win) {
    win.show();
    win.focus();
    return;
  }
  win = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 1024,
    minHeight: 640,
    title: 'WedSync Backup',
    webPreferences: { preload: join(here, 'preload.cjs'), ...HARDENED_WEB_PREFERENCES },
  });
  const id = win.webContents.id;
  trusted.add(id);
  // Navigation and new windows are blocked: the console is one page; external links open in the browser.
  win.webContents.on('will-navigate', (e, url) => {
    if (!allowNavigation(url)) e.preventDefault();
  });
  // A window (re)loaded learns the agent's state at once (locked: the unlock screen).
  win.webContents.on('did-finish-load', () => win?.webContents.send('wedsync:event', { type: 'agent-state', ...lastState }));
  win.webContents.on('will-redirect', (e) => e.preventDefault());
  win.webContents.on('will-attach-webview', (e) => e.preventDefault());
  win.webContents.setWindowOpenHandler(({ url }) => {
    const decision = windowOpenDecision(url);
    if (decision.openExternally) void shell.openExternal(decision.openExternally);
    return { action: decision.action };
  });
  win.on('closed', () => {
    trusted.delete(id);
    events?.closeOwner(id);
    win = null;
  });
  void win.loadURL(`${APP_ORIGIN}/index.html#/dashboard`);
}

/**
 * The agent child: `wedsync-backup agent` on DATABASE_URL (needs the repository passphrase: the
 * gate supplies it from WEDSYNC_PASSPHRASE, the keychain or the unlock screen), the embedded demo
 * otherwise, or an agent already running as a service (attach).
 */
async function startAgent(): Promise<{ supervisor: AgentSupervisor; gate: PassphraseGate | null }> {
  // The passphrase reaches the child only through the gate (its environment), never inherited blindly.
  const { WEDSYNC_PASSPHRASE: given, ...baseEnv } = process.env;
  const supervisor = new AgentSupervisor({
    command: process.execPath,
    args: process.env.DATABASE_URL ? [CLI, 'agent', '--json', '--host', '127.0.0.1', '--port', '0'] : [CLI, 'demo', '--json'],
    env: { ...baseEnv, ELECTRON_RUN_AS_NODE: '1' },
    onState: broadcast,
    onLog: () => undefined,
  });
  const attachUrl = process.env.WEDSYNC_AGENT_URL;
  const tokenFile = process.env.WEDSYNC_AGENT_TOKEN_FILE;
  if (attachUrl && tokenFile) {
    const { readFile } = await import('node:fs/promises');
    supervisor.attach(attachUrl, (await readFile(tokenFile, 'utf8')).trim());
    return { supervisor, gate: null };
  }
  const gate = new PassphraseGate({
    store: new PassphraseStore(join(app.getPath('userData'), 'passphrase.enc'), safeStorage),
    supervisor,
    envPassphrase: given,
    needsPassphrase: Boolean(process.env.DATABASE_URL),
  });
  void gate.start();
  return { supervisor, gate };
}

async function main(): Promise<void> {
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return;
  }
  app.on('second-instance', () => showWindow());
  await app.whenReady();
  if (!existsSync(join(RENDERER_DIST, 'index.html'))) {
    dialog.showErrorBox('WedSync Backup', 'The console has not been built: run `npm run build` first.');
    app.quit();
    return;
  }
  // Deny every permission (camera, notifications from the page, geolocation…): the console needs none.
  session.defaultSession.setPermissionRequestHandler((_wc, perm, cb) => cb(permissionDecision(perm)));
  protocol.handle('app', (req) => serveConsoleFile(RENDERER_DIST, req.url));

  const { supervisor, gate } = await startAgent();
  const agent = (): AgentHandle | null => supervisor.agent();
  events = new EventBridge({ agent });
  registerIpcBridge({ ipcMain, agent, trustedSenders: () => trusted, origin: APP_ORIGIN, events, ...(gate ? { unlock: (p: string) => gate.unlock(p) } : {}) });

  tray = new Tray(nativeImage.createFromDataURL(TRAY_ICON_DATA_URL));
  updateTrayMenu(supervisor.state);
  const stopWatching = watchFailedBackups({
    agent,
    notify: (title, body) => {
      if (Notification.isSupported()) new Notification({ title, body }).show();
    },
  });
  showWindow();

  let quitting = false;
  app.on('before-quit', (e) => {
    if (quitting) return;
    e.preventDefault();
    quitting = true;
    stopWatching();
    void supervisor.stop().finally(() => app.quit());
  });
  app.on('window-all-closed', () => {
    // Stays in the tray: the agent keeps backing up with no window open.
  });
}

void main();
