// Protocol selection as Istio does it (docs: ops/configuration/traffic-management/protocol-selection):
// `appProtocol` wins, else the port name's prefix before the first `-`
// (`http`, `http-web`, `grpc-api`…), case-insensitive; anything else is TCP
// (Istio says "unsupported" and treats it as opaque TCP, sniffing aside).

export type Protocol = "HTTP" | "HTTP2" | "GRPC" | "GRPC-WEB" | "HTTPS" | "TLS" | "TCP" | "MONGO" | "REDIS" | "MYSQL" | "UDP";

const BY_NAME: Record<string, Protocol> = {
  http: "HTTP",
  http2: "HTTP2",
  h2c: "HTTP2",
  grpc: "GRPC",
  "grpc-web": "GRPC-WEB",
  https: "HTTPS",
  tls: "TLS",
  tcp: "TCP",
  mongo: "MONGO",
  redis: "REDIS",
  mysql: "MYSQL",
  udp: "UDP",
};

// Kubernetes' well-known appProtocol values (KEP-3726).
const APP_PROTOCOL: Record<string, Protocol> = {
  "kubernetes.io/h2c": "HTTP2",
  "kubernetes.io/ws": "HTTP",
  "kubernetes.io/wss": "HTTPS",
};

export function protocolFromName(name: string | undefined): Protocol | undefined {
  if (!name) return undefined;
  const lower = name.toLowerCase();
  if (lower.startsWith("grpc-web")) return "GRPC-WEB";
  const prefix = lower.split("-")[0];
  return BY_NAME[prefix];
}

export function resolveProtocol(portName: string | undefined, appProtocol: string | undefined, explicit?: string): Protocol {
  if (explicit) return (BY_NAME[explicit.toLowerCase()] ?? "TCP") as Protocol;
  if (appProtocol) {
    const known = APP_PROTOCOL[appProtocol] ?? BY_NAME[appProtocol.toLowerCase()];
    if (known) return known;
  }
  return protocolFromName(portName) ?? "TCP";
}

/** Protocols Envoy handles with the HTTP connection manager. */
export function isHttp(p: Protocol): boolean {
  return p === "HTTP" || p === "HTTP2" || p === "GRPC" || p === "GRPC-WEB";
}

/** Protocols whose upstream connections must speak HTTP/2. */
export function isHttp2(p: Protocol): boolean {
  return p === "HTTP2" || p === "GRPC";
}
