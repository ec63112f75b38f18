import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// `@weft/xds-api/gen/<path>_pb.js` (the import form the conventions use) is
// mapped to xds-api's dist explicitly until its package.json export pattern
// accepts the `.js` suffix (it maps `./gen/*` to `./dist/gen/*.js` today).
const xdsGen = fileURLToPath(new URL("../xds-api/dist/gen/", import.meta.url));

export default defineConfig({
  resolve: {
    alias: [{ find: /^@weft\/xds-api\/gen\/(.*)\.js$/, replacement: `${xdsGen}$1.js` }],
  },
  test: {
    include: ["src/**/*.test.ts"],
    testTimeout: 20_000,
    hookTimeout: 20_000,
  },
});
