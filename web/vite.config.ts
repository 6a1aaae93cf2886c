import { defineConfig } from 'vite';

/**
 * The web app, served by the API under /app/ (src/http/web-routes.ts). `npm run dev:web` runs
 * Vite's dev server on :5173 in front of an API on :3000 (`npm start`); the development profile
 * already allows that origin for Socket.IO.
 */
export default defineConfig({
  root: import.meta.dirname,
  base: '/app/',
  publicDir: 'public',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    assetsInlineLimit: 0,
    // Sizes are measured (gzip) by the browser test; the report here is noise in npm test's output.
    reportCompressedSize: false,
  },
  server: {
    port: 5173,
    proxy: {
      '/api': 'http://127.0.0.1:3000',
      '/socket.io': { target: 'ws://127.0.0.1:3000', ws: true },
    },
  },
});
