// The ADS wire protocol as transport-free state machines, for both ends.
export type { VersionedResource, ResourceSnapshot, NackDetail } from "./resources.js";
export { isStateOfTheWorldType, WILDCARD, INVALID_ARGUMENT } from "./resources.js";
export type { AdsServerEvent, AdsTypeStatus } from "./server-events.js";
export { createSotwServerStream, type SotwServerStream } from "./sotw-server-stream.js";
export { createDeltaServerStream, type DeltaServerStream } from "./delta-server-stream.js";
export { createSotwClient, type SotwClient } from "./sotw-client.js";
export { createDeltaClient, type DeltaClient } from "./delta-client.js";
export { resourceNameOf, type ClientUpdate, type ApplyUpdate, type AdsClientTypeStatus } from "./client-update.js";
export { createInMemoryStream, type InMemoryStream, type StreamEnd } from "./in-memory-transport.js";
