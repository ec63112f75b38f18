import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["src/**/*.test.ts"],
    globalSetup: ["src/test-util/global-setup.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
