// When to renew a workload certificate, as Istio's secret cache does (security/pkg/nodeagent/
// cache rotateTime): at `graceRatio` (0.5) of the lifetime measured from when we received
// it, shifted by up to ±graceRatioJitter (0.01) of the lifetime so a fleet started together
// does not renew together.

export interface RotationParams {
  /** When the certificate was received (ms since epoch). */
  createdAt: number;
  /** Its notAfter (ms since epoch). */
  expiresAt: number;
  graceRatio: number;
  graceRatioJitter: number;
  now: number;
  /** Uniform [0,1); injectable for tests. */
  random: () => number;
}

export function rotationDelayMs(p: RotationParams): number {
  // Istio: jitter = rand * jitterRatio * (−1, 0 or +1).
  const sign = Math.floor(p.random() * 3) - 1;
  const ratio = Math.min(1, Math.max(0, p.graceRatio + p.random() * p.graceRatioJitter * sign));
  const lifetime = p.expiresAt - p.createdAt;
  const rotateAt = p.expiresAt - ratio * lifetime;
  return Math.max(0, rotateAt - p.now);
}
