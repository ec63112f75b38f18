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

/** What both server streams keep per watched type, as far as status pages need. */
export interface WatchSummary {
  wildcard: boolean;
  names: ReadonlySet<string>;
  sentVersion?: string;
  sentNonce?: string;
  ackedVersion?: string;
  lastNack?: NackDetail;
}

export function typeStatuses(watches: ReadonlyMap<string, WatchSummary>): AdsTypeStatus[] {
  return [...watches].map(([typeUrl, w]) => ({
    typeUrl,
    wildcard: w.wildcard,
    names: [...w.names],
    sentVersion: w.sentVersion,
    sentNonce: w.sentNonce,
    ackedVersion: w.ackedVersion,
    lastNack: w.lastNack,
  }));
}

/** The names a stream subscribed to for a type; undefined for a wildcard (or no) subscription. */
export function subscribedNamesOf(watch: WatchSummary | undefined): ReadonlySet<string> | undefined {
  return !watch || watch.wildcard ? undefined : watch.names;
}
