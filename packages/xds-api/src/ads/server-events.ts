import type { NackDetail } from "./resources.js";

/** What a request on an ADS stream meant, for the server loop and its logs. */
export type AdsServerEvent =
  | { kind: "subscribe"; typeUrl: string; names: string[]; wildcard: boolean; resumedVersion?: string }
  | { kind: "ack"; typeUrl: string; version: string; nonce: string; subscriptionChanged: boolean }
  | { kind: "nack"; typeUrl: string; version: string; nonce: string; message: string; subscriptionChanged: boolean }
  | { kind: "stale"; typeUrl: string; nonce: string }
  | { kind: "invalid"; typeUrl: string; reason: string };

/** Per-type state of one stream, for /debug/syncz and proxy-status. */
export interface AdsTypeStatus {
  typeUrl: string;
  wildcard: boolean;
  names: string[];
  sentVersion?: string;
  sentNonce?: string;
  ackedVersion?: string;
  lastNack?: NackDetail;
}
