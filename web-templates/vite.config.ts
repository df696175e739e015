import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

// Relative asset paths: the pages work under any template_base or custom path prefix.
export default defineConfig({
  base: './',
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 2048 },
});
