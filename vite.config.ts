/**
 * Vite build of Enkaku's web application (src/web -> dist/web).
 *
 *   npx vite build --config vite.config.ts   production build into dist/web
 *   npx vite --config vite.config.ts         development server; /api goes to a running `npm start`
 *
 * JSX is compiled by Vite's own esbuild transform (no React plugin: no fast refresh, which
 * the app does not need). The server serves dist/web at `/` with a history fallback.
 */
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = (path: string): string => fileURLToPath(new URL(path, import.meta.url));

/** Where the development server forwards API calls: a local `npm start` on its default port. */
const devBackend = 'http://127.0.0.1:8080';

export default defineConfig({
  root: here('./src/web'),
  base: '/',
  publicDir: false,
  esbuild: { jsx: 'automatic' },
  build: {
    outDir: here('./dist/web'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: false,
    // Assets stay files, never data: URLs, so the server's Content-Security-Policy can stay strict.
    assetsInlineLimit: 0,
    rollupOptions: {
      onwarn(warning, warn) {
        // Mantine marks its modules "use client" for React Server Components; a client bundle ignores it.
        if (warning.code === 'MODULE_LEVEL_DIRECTIVE' && warning.message.includes('"use client"')) return;
        warn(warning);
      },
      output: {
        manualChunks(id) {
          if (!id.includes('node_modules')) return undefined;
          if (/[\\/]node_modules[\\/](react|react-dom|scheduler)[\\/]/.test(id)) return 'react';
          if (/[\\/]node_modules[\\/]@mantine[\\/]/.test(id) || /[\\/]node_modules[\\/]@floating-ui[\\/]/.test(id)) return 'mantine';
          return 'vendor';
        },
      },
    },
  },
  server: {
    host: '127.0.0.1',
    port: 5173,
    strictPort: true,
    proxy: {
      '/api': { target: devBackend, changeOrigin: false },
      '/healthz': { target: devBackend },
      '/readyz': { target: devBackend },
    },
  },
  preview: { host: '127.0.0.1', port: 4173, strictPort: true },
});
