import { describe, expect, it } from "vitest";
import { parseLocalCommand } from "./local-command.js";

const VARS = { WEFT_SAMPLES: "/opt/weft/samples", NODE: "/usr/bin/node", PORT: "9080", BIND_ADDRESS: "0.0.0.0", POD_IP: "10.0.0.5", POD_NAME: "p", POD_NAMESPACE: "default", SERVICE_ACCOUNT: "sa" };

describe("parseLocalCommand()", () => {
  it("expands variables in each argv element", () => {
    expect(parseLocalCommand('["${NODE}", "${WEFT_SAMPLES}/dist/bin/x.js", "--port=${PORT}", "$$HOME"]', VARS)).toEqual([
      "/usr/bin/node",
      "/opt/weft/samples/dist/bin/x.js",
      "--port=9080",
      "$HOME",
    ]);
  });

  it("names what is wrong", () => {
    expect(() => parseLocalCommand("node app.js", VARS)).toThrow(/weft.dev\/local-command must be a JSON array of strings/);
    expect(() => parseLocalCommand("[]", VARS)).toThrow(/non-empty JSON array/);
    expect(() => parseLocalCommand('["node", 1]', VARS)).toThrow(/non-empty JSON array of non-empty strings/);
    expect(() => parseLocalCommand('["${HOME}/x"]', VARS)).toThrow("weft.dev/local-command references unknown variable ${HOME}");
    expect(() => parseLocalCommand('["${POD_IP}"]', {})).toThrow("references ${POD_IP}, which has no value here");
  });
});
