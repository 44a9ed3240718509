import { defineConfig } from 'vitest/config';
import { svelte } from '@sveltejs/vite-plugin-svelte';

export default defineConfig({
  plugins: [svelte()],
  // gridwalk-server serves the build at /console/.
  base: '/console/',
  clearScreen: false,
  // `npm run dev` proxies the API to a local gridwalk-server (scripts/run's port).
  server: {
    host: '127.0.0.1',
    port: 5174,
    strictPort: true,
    proxy: { '/v1': process.env.GRIDWALK_SERVER ?? 'http://127.0.0.1:8737' },
  },
  build: {
    outDir: 'dist',
    target: ['es2020', 'chrome87', 'safari14'],
    sourcemap: false,
  },
  test: {
    include: ['src/**/*.test.ts'],
    environment: 'node',
  },
});
