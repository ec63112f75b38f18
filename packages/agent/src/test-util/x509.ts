// Tests build fake CAs and read certificates and CSRs with @peculiar/x509, an implementation
// independent of the agent's own CSR encoder (ca-client/der.ts). It needs a Reflect metadata
// polyfill evaluated before it (tsyringe); every test imports x509 through this file.
import "reflect-metadata";
export * from "@peculiar/x509";
