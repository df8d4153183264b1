import { defineConfig } from 'vite'

// The page is static files: the API base URL and the Google client id come from /config.json at run time.
export default defineConfig({
  build: { target: 'es2022', sourcemap: true },
  server: { proxy: { '/api': 'http://localhost:8080', '/dev': 'http://localhost:8080', '/config.json': 'http://localhost:8080' } },
})
