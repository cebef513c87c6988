import { defineConfig } from "vitest/config";

// `npm run dev` serves the UI with hot reload and sends the API to a
// `seatflow up` on :8080 (SEATFLOW_API to change it).
const api = process.env.SEATFLOW_API ?? "http://127.0.0.1:8080";

export default defineConfig({
  build: { outDir: "dist", emptyOutDir: true, sourcemap: true, target: "es2022" },
  server: { proxy: { "/api": { target: api, changeOrigin: false } } },
  test: { include: ["tests/unit/**/*.test.ts"], environment: "node" },
});
