/** What the relays tell the rest of the agent (readiness, metrics, logs). */
export interface RelayEvents {
  ack(typeUrl: string, version: string): void;
  nack(typeUrl: string, message: string): void;
  upstreamConnected(connected: boolean): void;
}
