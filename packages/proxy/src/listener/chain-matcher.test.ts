import { fromEnvoyJson } from "@weft/xds-api";
import { MatcherSchema } from "@weft/xds-api/gen/xds/type/matcher/v3/matcher_pb.js";
import { describe, expect, it } from "vitest";
import { compileChainMatcher } from "./chain-matcher.js";
import type { ConnFacts } from "./filter-chain-match.js";

const action = (name: string) => ({ action: { name, typed_config: { "@type": "type.googleapis.com/google.protobuf.StringValue", value: name } } });
const input = (t: string) => ({ name: t, typed_config: { "@type": `type.googleapis.com/envoy.extensions.matching.common_inputs.network.v3.${t}` } });

// The shape Istio's waypoint/virtualInbound listeners use.
const matcher = compileChainMatcher(
  fromEnvoyJson(MatcherSchema, {
    matcher_tree: {
      input: input("DestinationIPInput"),
      custom_match: {
        name: "ip",
        typed_config: {
          "@type": "type.googleapis.com/xds.type.matcher.v3.IPMatcher",
          range_matchers: [
            { ranges: [{ address_prefix: "10.96.0.10", prefix_len: 32 }], on_match: { matcher: { matcher_tree: { input: input("DestinationPortInput"), exact_match_map: { map: { "80": action("vip-80") } } } } } },
            {
              ranges: [{ address_prefix: "10.0.0.0", prefix_len: 8 }],
              on_match: {
                matcher: {
                  matcher_tree: { input: input("ApplicationProtocolInput"), exact_match_map: { map: { "'h2c'": action("direct-http"), "'http/1.1'": action("direct-http") } } },
                  on_no_match: action("direct-tcp"),
                },
              },
            },
          ],
        },
      },
    },
    on_no_match: action("fallback"),
  } as never),
  "l",
  "filter_chain_matcher",
);

const facts = (f: Partial<ConnFacts>): ConnFacts => ({ destIp: "1.1.1.1", destPort: 80, transportProtocol: "raw_buffer", applicationProtocols: [], directSourceIp: "127.0.0.1", sourceIp: "127.0.0.1", sourcePort: 1, ...f });

describe("compileChainMatcher()", () => {
  it.each([
    [{ destIp: "10.96.0.10", destPort: 80 }, "vip-80"],
    [{ destIp: "10.96.0.10", destPort: 81 }, "direct-tcp"],
    [{ destIp: "10.1.1.1", applicationProtocols: ["http/1.1"] }, "direct-http"],
    [{ destIp: "10.1.1.1", applicationProtocols: ["h2c"] }, "direct-http"],
    [{ destIp: "10.1.1.1" }, "direct-tcp"],
    [{ destIp: "192.168.0.1" }, "fallback"],
  ])("%o → %s", (f, want) => {
    expect(matcher(facts(f as Partial<ConnFacts>))).toBe(want);
  });
});
