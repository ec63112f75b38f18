import { describe, expect, it } from "vitest";
import { loadAgentEnv } from "../env/agent-env.js";
import { AgentError } from "../errors.js";
import { productpageEnv } from "../test-util/productpage-env.js";
import { renderBootstrap } from "./render-bootstrap.js";
import { renderBootstrapInChild } from "./render-in-child.js";

const env = loadAgentEnv(productpageEnv("/tmp/weft-agent-render-child"));

describe("renderBootstrapInChild()", () => {
  it("renders in a child process exactly the bootstrap rendered in-process", async () => {
    const json = await renderBootstrapInChild(env);
    expect(json).toBe(renderBootstrap(env));
    expect(JSON.parse(json).node.id).toBe("sidecar~10.244.1.10~productpage-v1-5d9b4c9849-c6rbk.default~default.svc.cluster.local");
  });

  it("brings a bootstrap the validator refuses back as the same AgentError, naming the rule", async () => {
    const bad = { ...env, ports: { ...env.ports, admin: 70000 } };
    const inProcess = (() => {
      try {
        renderBootstrap(bad);
      } catch (err) {
        return err as AgentError;
      }
      throw new Error("renderBootstrap accepted an admin port of 70000");
    })();
    const fromChild = await renderBootstrapInChild(bad).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(fromChild).toBeInstanceOf(AgentError);
    expect((fromChild as AgentError).code).toBe(inProcess.code);
    expect((fromChild as AgentError).message).toBe(inProcess.message);
    expect((fromChild as AgentError).message).toContain("port_value");
  });

  it("gives up on a renderer that does not answer in time, with an error that says so", async () => {
    const err = await renderBootstrapInChild(env, 1).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(AgentError);
    expect((err as AgentError).code).toBe("timeout");
    expect((err as AgentError).message).toMatch(/did not finish within 1 ms and was killed/);
  });
});
