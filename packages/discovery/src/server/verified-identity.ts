// How "this stream was authenticated as namespace X / service account Y"
// travels from the CA's TLS port (ca-server.ts authenticates every call and
// checks the node's namespace against the caller's) to the ADS stream: a
// connect context value, set by the authenticating interceptor and read by the
// ADS handler. Nothing sets it on the plaintext xDS port, and clients cannot:
// context values never come from the wire.
import { createContextKey } from "@connectrpc/connect";
import type { VerifiedIdentity } from "../contracts.js";

export const VERIFIED_IDENTITY = createContextKey<VerifiedIdentity | undefined>(undefined, { description: "the authenticated workload identity of this call" });
