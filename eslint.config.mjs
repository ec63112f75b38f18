// Lint for every project. The module-boundary rule is the architecture's
// dependency direction made executable: xds-api depends on nothing internal,
// the proxy never imports discovery and discovery never imports the proxy.
import nx from "@nx/eslint-plugin";
import tseslint from "typescript-eslint";

export default [
  { ignores: ["**/dist/**", "**/src/gen/**", "**/.proto-build/**", "**/node_modules/**", "**/*.mjs", "**/*.js"] },
  ...tseslint.configs.recommended,
  {
    files: ["**/*.ts"],
    plugins: { "@nx": nx },
    rules: {
      "@nx/enforce-module-boundaries": [
        "error",
        {
          enforceBuildableLibDependency: true,
          banTransitiveDependencies: true,
          depConstraints: [
            { sourceTag: "scope:xds-api", onlyDependOnLibsWithTags: [] },
            { sourceTag: "scope:injector", onlyDependOnLibsWithTags: ["scope:xds-api"] },
            { sourceTag: "scope:discovery", onlyDependOnLibsWithTags: ["scope:xds-api", "scope:injector"] },
            { sourceTag: "scope:agent", onlyDependOnLibsWithTags: ["scope:xds-api"] },
            { sourceTag: "scope:proxy", onlyDependOnLibsWithTags: ["scope:xds-api"] },
            { sourceTag: "scope:cli", onlyDependOnLibsWithTags: ["scope:xds-api", "scope:injector"] },
            { sourceTag: "scope:samples", onlyDependOnLibsWithTags: [] },
            { sourceTag: "scope:e2e", onlyDependOnLibsWithTags: ["*"] },
          ],
        },
      ],
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/no-explicit-any": "error",
      "no-console": "off",
    },
  },
  {
    files: ["**/*.test.ts", "**/test-util/**/*.ts"],
    rules: { "@typescript-eslint/no-non-null-assertion": "off" },
  },
];
