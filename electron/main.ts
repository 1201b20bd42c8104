import { app, BrowserWindow, Menu, Notification, Tray, dialog, nativeImage, ipcMain, protocol, safeStorage, session, shell } from 'electron';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AgentSupervisor, type AgentHandle, type AgentState } from './agent-supervisor.js';
import { APP_ORIGIN, serveConsoleFile } from './app-protocol.js';
import { EventBridge } from './event-bridge.js';
import { registerIpcBridge } from './ipc-main.js';
import { PassphraseStore } from './passphrase-store.js';
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

function broadcast(state: AgentState, detail?: string): void {
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
    webPreferences: {
      preload: join(here, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      spellcheck: false,
    },
  });
  const id = win.webContents.id;
  trusted.add(id);
  // Navigation and new windows are blocked: the console is one page; external links open in the browser.
  win.webContents.on('will-navigate', (e, url) => {
    if (!url.startsWith(`${APP_ORIGIN}/`)) e.preventDefault();
  });
  win.webContents.on('will-redirect', (e) => e.preventDefault());
  win.webContents.on('will-attach-webview', (e) => e.preventDefault());
  win.webContents.setWindowOpenHandler(({ url }) => {
    if (/^https:\/\//.test(url)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  win.on('closed', () => {
    trusted.delete(id);
    events?.closeOwner(id);
    win = null;
  });
  void win.loadURL(`${APP_ORIGIN}/index.html#/dashboard`);
}

async function passphraseEnv(): Promise<Record<string, string>> {
  const store = new PassphraseStore(join(app.getPath('userData'), 'passphrase.enc'), safeStorage);
  const given = process.env.WEDSYNC_PASSPHRASE;
  if (given) {
    // First start with the passphrase in the environment: keep it in the keychain from now on.
    await store.save(given);
    return {};
  }
  const stored = await store.load();
  return stored ? { WEDSYNC_PASSPHRASE: stored } : {};
}

async function startAgent(): Promise<AgentSupervisor> {
  const supervisor = new AgentSupervisor({
    command: process.execPath,
    args: process.env.DATABASE_URL ? [CLI, 'agent', '--json', '--host', '127.0.0.1', '--port', '0'] : [CLI, 'demo', '--json'],
    env: { ...process.env, ...(await passphraseEnv()), ELECTRON_RUN_AS_NODE: '1' },
    onState: broadcast,
    onLog: () => undefined,
  });
  const attachUrl = process.env.WEDSYNC_AGENT_URL;
  const tokenFile = process.env.WEDSYNC_AGENT_TOKEN_FILE;
  if (attachUrl && tokenFile) {
    const { readFile } = await import('node:fs/promises');
    supervisor.attach(attachUrl, (await readFile(tokenFile, 'utf8')).trim());
  } else {
    void supervisor.start();
  }
  return supervisor;
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
  session.defaultSession.setPermissionRequestHandler((_wc, _perm, cb) => cb(false));
  protocol.handle('app', (req) => serveConsoleFile(RENDERER_DIST, req.url));

  const supervisor = await startAgent();
  const agent = (): AgentHandle | null => supervisor.agent();
  events = new EventBridge({ agent });
  registerIpcBridge({ ipcMain, agent, trustedSenders: () => trusted, origin: APP_ORIGIN, events });

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
