import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

// The console's React bundle. One bundle for both hosts: the agent serves renderer/dist at `/`
// (browsers, e2e) and Electron loads the same files. Assets are referenced relatively ('./')
// so the bundle works from http://127.0.0.1:PORT/ and from file:// alike. No inline scripts or
// styles are emitted, so the strict Content-Security-Policy (script-src 'self') holds.
export default defineConfig({
  root: fileURLToPath(new URL('./renderer', import.meta.url)),
  base: './',
  plugins: [react()],
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('./renderer/dist', import.meta.url)),
    emptyOutDir: true,
    // No modulepreload polyfill: it would be an inline script, which the CSP forbids.
    modulePreload: { polyfill: false },
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1500,
    sourcemap: false,
  },
});
