import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';

// Canopy's UI: built into dist/canopy-web and served by the Canopy backend at `/`.
const root = fileURLToPath(new URL('.', import.meta.url));
export default defineConfig({
  root,
  base: '/',
  plugins: [react()],
  build: { outDir: fileURLToPath(new URL('../../../dist/canopy-web', import.meta.url)), emptyOutDir: true, chunkSizeWarningLimit: 4000 },
  server: { proxy: { '/feature-flags': 'http://127.0.0.1:8501', '/summarize': 'http://127.0.0.1:8501', '/socratic-tutor': 'http://127.0.0.1:8501', '/feedback': 'http://127.0.0.1:8501', '/info': 'http://127.0.0.1:8501' } },
});
